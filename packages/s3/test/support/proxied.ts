/**
 * What the fault-injection suites share: an S3FaultProxy in front of the server, cleared after
 * each test, and a private scratch directory for files to upload, both gone after the block.
 */
import { S3FaultProxy } from '@filefield/s3/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Server } from './servers';

export interface ProxiedServer {
  /** Set in beforeAll. */
  proxy: S3FaultProxy;
  /** Set in beforeAll. */
  directory: string;
}

/** Call inside a describe block: its hooks start and stop the proxy and the directory. */
export function useFaultProxy(server: () => S3Server, label: string): ProxiedServer {
  const fixture = {} as ProxiedServer;
  beforeAll(async () => {
    fixture.proxy = await S3FaultProxy.start({ target: server().endpoint });
    fixture.directory = await mkdtemp(join(tmpdir(), `filefield-${label}-`));
  });
  afterEach(() => fixture.proxy.clear());
  afterAll(async () => {
    await fixture.proxy?.stop();
    if (fixture.directory) await rm(fixture.directory, { recursive: true, force: true });
  });
  return fixture;
}
