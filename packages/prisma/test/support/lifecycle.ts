/**
 * The shared file-lifecycle suite on one database, on the filesystem driver and on S3 (s3rver
 * in-process, radosgw in CI) with a fault proxy in front of the S3 server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeFileLifecycle } from '@filefield/core/testing';
import { FaultProxy } from '../../../../test-support/fault-proxy';
import { describeOnServers } from '../../../s3/test/support/servers';
import { type Provider, type TestDatabase, openDatabase } from './databases';
import { type StorageSpec, buildStorage, prismaLifecycleAdapter } from './lifecycle-world';

const TIMEOUT = 180_000;

export function describeLifecycle(provider: Provider): void {
  describe(`Prisma [${provider}]`, () => {
    let db: TestDatabase;
    const dirs: string[] = [];
    beforeAll(async () => {
      db = await openDatabase(provider);
    }, TIMEOUT);
    afterAll(async () => {
      await db?.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }, TIMEOUT);

    describe('on the filesystem driver', () => {
      let spec: StorageSpec;
      beforeAll(() => {
        const location = mkdtempSync(join(tmpdir(), 'filefield-prisma-lifecycle-'));
        dirs.push(location);
        spec = { kind: 'filesystem', location };
      });
      describeFileLifecycle(`Prisma [${provider}] × filesystem`, prismaLifecycleAdapter(provider, () => db, () => spec), { storage: () => buildStorage(spec), timeout: TIMEOUT });
    });

    describeOnServers('on S3', (server) => {
      let proxy: FaultProxy;
      let spec: StorageSpec;
      beforeAll(async () => {
        const options = server().options({ location: `prisma-lifecycle-${provider}`, fileOverwrite: true });
        spec = { kind: 's3', options: { ...options, id: `lifecycle:${server().label}:${options.location}` } };
        const endpoint = new URL(server().endpoint);
        proxy = await FaultProxy.start({ host: endpoint.hostname, port: Number(endpoint.port) });
      }, TIMEOUT);
      afterAll(async () => {
        await proxy?.stop();
      }, TIMEOUT);
      describeFileLifecycle(`Prisma [${provider}] × S3`, prismaLifecycleAdapter(provider, () => db, () => spec), {
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
}
