/**
 * The shared file-lifecycle suite on one database, on the filesystem driver and on S3 (s3rver
 * in-process, radosgw in CI) with a fault proxy in front of the S3 server.
 */
import { describeLifecycleOnStorages } from '../../../../test-support/lifecycle-storages';
import { type Provider, type TestDatabase, openDatabase } from './databases';
import { prismaLifecycleAdapter } from './lifecycle-world';

export function describeLifecycle(provider: Provider): void {
  describe(`Prisma [${provider}]`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await openDatabase(provider);
    }, 180_000);
    afterAll(async () => {
      await db?.close();
    }, 180_000);
    describeLifecycleOnStorages(`Prisma [${provider}]`, `prisma-lifecycle-${provider}`, (spec) => prismaLifecycleAdapter(provider, () => db, spec));
  });
}
