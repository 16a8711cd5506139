/**
 * The TypeORM side of the shared lifecycle suite: a `LifecycleAdapter` per database, whose
 * worlds drive @FileField entities through a DataSource with filefield installed (no background
 * sweeper: the suite sweeps). The crash step runs in a child process (lifecycle-child.ts).
 */
import { ContentFile } from '@filefield/core';
import type { CrashOptions, LifecycleAdapter, LifecycleFixture, LifecycleWorld } from '@filefield/core/testing';
import { join } from 'node:path';
import type { DataSource, DataSourceOptions, EntityManager } from 'typeorm';
import { runUntilReady } from '../../../../test-support/child-process';
import { bindEntityManager, installFileFields } from '../../src';
import { type DatabaseKind, closeDataSource, connectionOptions, openDataSource, tablePrefix } from './databases';
import type { StorageSpec } from '../../../../test-support/storage-spec';
import { defineLifecycleModel } from './lifecycle-model';

export interface ChildConfig {
  connection: DataSourceOptions;
  prefix: string;
  storage: StorageSpec;
  gracePeriod: number;
  now: number;
  step: CrashOptions['step'];
  id?: number;
}

export function typeOrmLifecycleAdapter(kind: DatabaseKind, spec: () => StorageSpec, sqliteFile: () => string): LifecycleAdapter {
  const connection = (): DataSourceOptions => (kind === 'sqlite' ? { type: 'better-sqlite3', database: sqliteFile() } : connectionOptions(kind));
  let prefix = '';
  return {
    concurrentTransactions: kind !== 'sqlite',
    async open(fixture: LifecycleFixture): Promise<LifecycleWorld> {
      prefix = tablePrefix();
      const model = defineLifecycleModel(prefix, fixture.storage, fixture.twin);
      const dataSource = await openDataSource(kind, model.entities, { poolSize: 30, options: connection() });
      const installation = installFileFields(dataSource, {
        gracePeriod: fixture.gracePeriod,
        clock: fixture.clock,
        references: fixture.references,
        sweeper: false,
        warnOnBulkDelete: false,
      });
      const { Doc, Attachment } = model;
      const managerOf = (tx: unknown) => (tx as EntityManager | undefined) ?? dataSource.manager;
      const loadDoc = (id: number, tx: unknown) => managerOf(tx).findOneByOrFail(Doc, { id });
      return {
        ledger: installation.ledger,
        async createDoc(file, tx) {
          return (await managerOf(tx).save(Object.assign(new Doc(), { file }))).id;
        },
        async uploadDoc(name, content, tx) {
          const doc = new Doc();
          if (tx) bindEntityManager(doc, tx as EntityManager);
          const stored = await doc.file.save(name, new ContentFile(content));
          return { id: doc.id, name: stored };
        },
        async saveFile(id, name, content, tx) {
          const doc = await loadDoc(id, tx);
          return doc.file.save(name, new ContentFile(content));
        },
        async assignFile(id, name, tx) {
          const doc = await loadDoc(id, tx);
          doc.file = name as never;
          await managerOf(tx).save(doc);
        },
        async deleteFile(id, field, tx) {
          const doc = await loadDoc(id, tx);
          await doc[field].delete();
        },
        async staleWrite(id, name, content) {
          const [a, b] = [await loadDoc(id, undefined), await loadDoc(id, undefined)];
          const stored = await a.file.save(name, new ContentFile(content));
          await b.cover.delete();
          return stored;
        },
        async writeUnloaded(id) {
          const doc = Object.assign(new Doc(), { id });
          doc.cover = null as never;
          await dataSource.manager.save(doc);
        },
        async removeDoc(id, tx) {
          await managerOf(tx).remove(await loadDoc(id, tx));
        },
        async createAttachment(blob, tx) {
          return (await managerOf(tx).save(Object.assign(new Attachment(), { blob }))).id;
        },
        async removeAttachment(id, tx) {
          await managerOf(tx).remove(await managerOf(tx).findOneByOrFail(Attachment, { id }));
        },
        async docFiles(id) {
          const doc = await dataSource.manager.findOneBy(Doc, { id });
          return doc ? { file: doc.file.name, cover: doc.cover.name } : null;
        },
        transaction: (work) => dataSource.transaction((manager) => work(manager)),
        async deleteDocBehindTheOrm(id) {
          await dataSource.createQueryBuilder().delete().from(Doc).where('id = :id', { id }).callListeners(false).execute();
        },
        async close() {
          await installation.uninstall();
          await closeDataSource(dataSource);
        },
      };
    },
    async crash(fixture, options) {
      const config: ChildConfig = { connection: connection(), prefix, storage: spec(), gracePeriod: fixture.gracePeriod, now: fixture.clock(), ...options };
      const child = await runUntilReady(join(__dirname, 'lifecycle-child.ts'), { FILEFIELD_CHILD: JSON.stringify(config) });
      await child.kill();
      return { name: child.payload };
    },
  };
}
