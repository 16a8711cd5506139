/**
 * The Prisma side of the shared lifecycle suite (@filefield/core/testing): the suite's Doc is
 * MyStorage (`file` is the `normal` column, `cover` the `default` column with a default file)
 * and its Attachment is Attachment (`blob` is its `file` column, on a second storage object with
 * the same id). Worlds share the test database's tables, so each starts from empty tables; no
 * background sweeper runs (the suite sweeps). The crash step runs in lifecycle-child.ts.
 */
import { join } from 'node:path';
import { ContentFile, randomSuffix, type Storage } from '@filefield/core';
import type { CrashOptions, LifecycleAdapter, LifecycleFixture, LifecycleWorld } from '@filefield/core/testing';
import { type FileFieldsOptions, fileFields } from '@filefield/prisma';
import { runUntilReady } from '../../../../test-support/child-process';
import type { StorageSpec } from '../../../../test-support/storage-spec';
import type { BaseClient, Provider, TestDatabase } from './databases';

export interface ChildConfig {
  provider: Provider;
  url: string;
  storage: StorageSpec;
  gracePeriod: number;
  now: number;
  step: CrashOptions['step'];
  id?: number;
}

/** The suite's model on the test schema, with filefield's options. */
export function extendForLifecycle(client: BaseClient, storage: Storage, twin: Storage, options: Pick<FileFieldsOptions, 'gracePeriod' | 'clock' | 'references' | 'sweeper'>) {
  return client.$extends(
    fileFields(
      {
        myStorage: { normal: { uploadTo: 'docs', storage }, default: { uploadTo: 'covers', storage, default: 'defaults/cover.txt' } },
        attachment: { file: { storage: twin } },
      },
      options,
    ),
  );
}

type Extended = ReturnType<typeof extendForLifecycle>;

export function prismaLifecycleAdapter(provider: Provider, db: () => TestDatabase, spec: () => StorageSpec): LifecycleAdapter {
  return {
    concurrentTransactions: provider !== 'sqlite',
    async open(fixture: LifecycleFixture): Promise<LifecycleWorld> {
      const database = db();
      await database.reset();
      const prisma = extendForLifecycle(database.client, fixture.storage, fixture.twin, {
        gracePeriod: fixture.gracePeriod,
        clock: fixture.clock,
        references: fixture.references,
        sweeper: false,
      });
      const client = (tx: unknown) => (tx as Extended | undefined) ?? prisma;
      const load = (id: number, tx: unknown) => client(tx).myStorage.findUniqueOrThrow({ where: { id } });
      return {
        ledger: prisma.$fileFields().ledger,
        async createDoc(file, tx) {
          return (await client(tx).myStorage.create({ data: { normal: file } })).id;
        },
        async uploadDoc(name, content, tx) {
          const row = await client(tx).myStorage.create({ data: {} });
          const stored = await row.normal.save(name, new ContentFile(content));
          return { id: row.id, name: stored };
        },
        async saveFile(id, name, content, tx) {
          return (await load(id, tx)).normal.save(name, new ContentFile(content));
        },
        async assignFile(id, name, tx) {
          await client(tx).myStorage.update({ where: { id }, data: { normal: name } });
        },
        async deleteFile(id, field, tx) {
          const row = await load(id, tx);
          await (field === 'file' ? row.normal : row.default).delete();
        },
        async staleWrite(id, name, content) {
          const [a, b] = [await load(id, undefined), await load(id, undefined)];
          const stored = await a.normal.save(name, new ContentFile(content));
          await b.default.delete();
          return stored;
        },
        async writeUnloaded(id) {
          await prisma.myStorage.update({ where: { id }, data: { default: null } });
        },
        async removeDoc(id, tx) {
          await client(tx).myStorage.delete({ where: { id } });
        },
        async createAttachment(blob, tx) {
          return (await client(tx).attachment.create({ data: { label: `a-${randomSuffix(10)}`, file: blob } })).id;
        },
        async removeAttachment(id, tx) {
          await client(tx).attachment.delete({ where: { id } });
        },
        async docFiles(id) {
          const row = await prisma.myStorage.findUnique({ where: { id } });
          return row ? { file: row.normal.name, cover: row.default.name } : null;
        },
        transaction: (work) => prisma.$transaction((tx) => work(tx), { timeout: 120_000, maxWait: 60_000 }),
        async deleteDocBehindTheOrm(id) {
          await database.client.myStorage.delete({ where: { id } });
        },
        async close() {
          await prisma.$fileFields().stop();
        },
      };
    },
    async crash(fixture, options) {
      const config: ChildConfig = { provider, url: db().url, storage: spec(), gracePeriod: fixture.gracePeriod, now: fixture.clock(), ...options };
      const child = await runUntilReady(join(__dirname, 'lifecycle-child.ts'), { FILEFIELD_CHILD: JSON.stringify(config) });
      await child.kill();
      return { name: child.payload };
    },
  };
}
