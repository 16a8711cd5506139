/**
 * The shared file-lifecycle suite (@filefield/core/testing) on TypeORM: SQLite, PostgreSQL and
 * MariaDB, each on the filesystem driver and on S3 (s3rver in-process, radosgw in CI), with a
 * fault proxy in front of s3rver for the hung and failing storage cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFileLifecycle } from '@filefield/core/testing';
import { FaultProxy } from '../../../test-support/fault-proxy';
import { describeOnServers } from '../../s3/test/support/servers';
import { describeEachDatabase } from './support/databases';
import { type StorageSpec, buildStorage } from './support/lifecycle-model';
import { typeOrmLifecycleAdapter } from './support/lifecycle-world';

const TIMEOUT = 180_000;

describeEachDatabase('TypeORM', (kind) => {
  const dirs: string[] = [];
  const tempDir = (label: string) => {
    const dir = mkdtempSync(join(tmpdir(), `filefield-typeorm-${label}-`));
    dirs.push(dir);
    return dir;
  };
  let sqliteFile = '';
  beforeAll(() => {
    sqliteFile = join(tempDir('db'), 'lifecycle.db');
  });
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe('on the filesystem driver', () => {
    let spec: StorageSpec;
    beforeAll(() => {
      spec = { kind: 'filesystem', location: tempDir('media') };
    });
    describeFileLifecycle(`TypeORM [${kind}] × filesystem`, typeOrmLifecycleAdapter(kind, () => spec, () => sqliteFile), {
      storage: () => buildStorage(spec),
      timeout: TIMEOUT,
    });
  });

  describeOnServers('on S3', (server) => {
    let proxy: FaultProxy;
    let spec: StorageSpec;
    beforeAll(async () => {
      const options = server().options({ location: `lifecycle-${kind}`, fileOverwrite: true });
      // One id for the direct and the proxied storage: they hold the same files.
      spec = { kind: 's3', options: { ...options, id: `lifecycle:${server().label}:${options.location}` } };
      const endpoint = new URL(server().endpoint);
      proxy = await FaultProxy.start({ host: endpoint.hostname, port: Number(endpoint.port) });
    }, TIMEOUT);
    afterAll(async () => {
      await proxy?.stop();
    }, TIMEOUT);
    describeFileLifecycle(`TypeORM [${kind}] × S3`, typeOrmLifecycleAdapter(kind, () => spec, () => sqliteFile), {
      storage: () => buildStorage(spec),
      timeout: TIMEOUT,
      faults: {
        storage: () => buildStorage({ kind: 's3', options: { ...(spec as Extract<StorageSpec, { kind: 's3' }>).options, endpointUrl: proxy.url } }),
        stall: () => proxy.stall(),
        refuse: () => proxy.refuse(),
        heal: () => proxy.heal(),
      },
    });
  });
});
