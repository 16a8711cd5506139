/**
 * TypeORM's `upsert()` is one `INSERT … ON CONFLICT DO UPDATE` (or ON DUPLICATE KEY UPDATE): it
 * fires beforeInsert, so the names it writes are checked and referenced, but nothing says which
 * names it replaced. The installation wraps `upsert` on the DataSource's EntityManagers (the
 * DataSource's own, and every one it creates, transactional ones included): in one transaction it
 * reads the names the conflicting rows hold, upserts, and releases the names it replaced.
 */
import type { LedgerFile } from '@filefield/core';
import type { DataSource, EntityManager, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import { fileColumnsOf, nameOf } from './file-columns';

type Upsert = EntityManager['upsert'];
type ConflictOptions = Parameters<Upsert>[2];

/** Wrap upserts of `dataSource`; returns the function that undoes it. */
export function wrapUpserts(dataSource: DataSource, release: (runner: QueryRunner, files: LedgerFile[]) => Promise<void>): () => void {
  const wrap = (manager: EntityManager) => {
    if (Object.hasOwn(manager, 'upsert')) return;
    const original = manager.upsert;
    Object.defineProperty(manager, 'upsert', {
      configurable: true,
      writable: true,
      value: function upsert(this: EntityManager, target: EntityTarget<ObjectLiteral>, entities: ObjectLiteral | ObjectLiteral[], options: ConflictOptions) {
        const metadata = this.connection.getMetadata(target);
        const columns = fileColumnsOf(metadata);
        if (columns.length === 0) return original.call(this, target, entities, options);
        const list = Array.isArray(entities) ? entities : [entities];
        const paths = Array.isArray(options) ? options : Array.isArray(options.conflictPaths) ? options.conflictPaths : Object.keys(options.conflictPaths);
        const work = async (manager: EntityManager) => {
          const keyOf = (row: ObjectLiteral) => JSON.stringify(paths.map((path) => String(row[path])));
          const where = list.filter((entity) => paths.every((path) => entity[path] !== undefined)).map((entity) => Object.fromEntries(paths.map((path) => [path, entity[path]])));
          const existing = new Map(where.length === 0 ? [] : (await manager.find(target, { where })).map((row) => [keyOf(row), row]));
          const result = await original.call(manager, target, entities, options);
          const replaced: LedgerFile[] = [];
          for (const entity of list) {
            const before = existing.get(keyOf(entity));
            if (!before) continue;
            for (const { column, field } of columns) {
              const written = nameOf(column.getEntityValue(entity));
              const previous = nameOf(column.getEntityValue(before));
              if (written === undefined || !previous || previous === written || !field.deleteReplaced || field.isDefault(previous)) continue;
              replaced.push({ storage: field.storage, name: previous });
            }
          }
          await release(manager.queryRunner!, replaced);
          return result;
        };
        return this.queryRunner?.isTransactionActive ? work(this) : this.transaction(work);
      },
    });
  };
  wrap(dataSource.manager);
  const createEntityManager = dataSource.createEntityManager;
  Object.defineProperty(dataSource, 'createEntityManager', {
    configurable: true,
    writable: true,
    value: function createWrappedEntityManager(this: DataSource, queryRunner?: QueryRunner) {
      const manager = createEntityManager.call(this, queryRunner);
      wrap(manager);
      return manager;
    },
  });
  return () => {
    delete (dataSource.manager as { upsert?: unknown }).upsert;
    delete (dataSource as { createEntityManager?: unknown }).createEntityManager;
  };
}
