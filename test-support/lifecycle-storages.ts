/**
 * The storages the adapters' lifecycle suites run on: the filesystem driver, and each S3 server
 * (s3rver, and radosgw in CI) with a fault proxy in front of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LifecycleAdapter, describeFileLifecycle } from '@filefield/core/testing';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { describeOnServers } from '../packages/s3/test/support/servers';
import { FaultProxy } from './fault-proxy';
import { type StorageSpec, buildStorage } from './storage-spec';

const TIMEOUT = 180_000;

/**
 * The lifecycle suite on the filesystem driver (a fresh temporary directory) and on every S3
 * server, the S3 storages with `fileOverwrite: true` (django-storages' default) and one id for the
 * direct and the proxied storage, which hold the same files. `adapter(spec)` builds the adapter.
 */
export function describeLifecycleOnStorages(label: string, location: string, adapter: (spec: () => StorageSpec) => LifecycleAdapter): void {
  describe('on the filesystem driver', () => {
    let spec: StorageSpec;
    beforeAll(() => {
      spec = { kind: 'filesystem', location: mkdtempSync(join(tmpdir(), 'filefield-lifecycle-')) };
    });
    afterAll(() => {
      if (spec?.kind === 'filesystem') rmSync(spec.location, { recursive: true, force: true });
    });
    describeFileLifecycle(`${label} × filesystem`, adapter(() => spec), { storage: () => buildStorage(spec), timeout: TIMEOUT });
  });

  describeOnServers('on S3', (server) => {
    let proxy: FaultProxy;
    let options: S3StorageOptions;
    beforeAll(async () => {
      const base = server().options({ location, fileOverwrite: true });
      options = { ...base, id: `lifecycle:${server().label}:${base.location}` };
      const endpoint = new URL(server().endpoint);
      proxy = await FaultProxy.start({ host: endpoint.hostname, port: Number(endpoint.port) });
    }, TIMEOUT);
    afterAll(async () => {
      await proxy?.stop();
    }, TIMEOUT);
    describeFileLifecycle(`${label} × S3`, adapter(() => ({ kind: 's3', options })), {
      storage: () => new S3Storage(options),
      timeout: TIMEOUT,
      faults: {
        storage: () => new S3Storage({ ...options, endpointUrl: proxy.url }),
        stall: () => proxy.stall(),
        refuse: () => proxy.refuse(),
        heal: () => proxy.heal(),
      },
    });
  });
}
