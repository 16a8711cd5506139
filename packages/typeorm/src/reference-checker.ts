/**
 * "Which of these names does a row still use?" for the core's deletion scheduler, answered with
 * `SELECT DISTINCT col FROM table WHERE col IN (...)` — one query per file column using the
 * storage and per batch of names (500 by default), on the indexed file columns. Soft-deleted rows
 * count as references (they can be recovered); views are skipped.
 */
import type { ReferenceChecker, Storage } from '@filefield/core';
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm';
import { fileColumnsOf } from './file-columns';

export const DEFAULT_REFERENCE_BATCH_SIZE = 500;

/** A file column as SQL: escaped table and column names. */
interface ReferenceTarget {
  table: string;
  column: string;
}

export class TypeOrmReferenceChecker implements ReferenceChecker {
  /**
   * `queryRunner` runs the queries: after a commit it is the committing transaction's own
   * connection, so a burst of commits never waits for a free pool connection to clean up.
   */
  constructor(
    private readonly queryRunner: QueryRunner,
    private readonly batchSize = DEFAULT_REFERENCE_BATCH_SIZE,
  ) {}

  async referencedNames(storage: Storage, names: readonly string[]): Promise<Set<string>> {
    const dataSource = this.queryRunner.connection;
    const driver = dataSource.driver;
    const referenced = new Set<string>();
    const unresolved = new Set(names);
    for (const target of referenceTargets(dataSource, storage)) {
      const pending = [...unresolved];
      for (let start = 0; start < pending.length; start += this.batchSize) {
        const batch = pending.slice(start, start + this.batchSize);
        const sql = `SELECT DISTINCT ${target.column} AS ${driver.escape('name')} FROM ${target.table} WHERE ${target.column} IN (:...names)`;
        const [query, parameters] = driver.escapeQueryWithParameters(sql, { names: batch });
        const rows = (await this.run(query, parameters)) as Array<{ name: unknown }>;
        // Compare in JavaScript: a case-insensitive collation (MariaDB's default) may return 'a.txt' for 'A.txt'.
        for (const row of rows) {
          const name = String(row.name);
          if (unresolved.delete(name)) referenced.add(name);
        }
      }
      if (unresolved.size === 0) break;
    }
    return referenced;
  }

  private run(query: string, parameters: unknown[]): Promise<unknown> {
    if (this.queryRunner.isReleased) return this.queryRunner.connection.query(query, parameters);
    return this.queryRunner.query(query, parameters);
  }
}

const targetsCache = new WeakMap<readonly EntityMetadata[], Map<Storage, ReferenceTarget[]>>();

/** Every table column (deduplicated across inheritance) whose file field uses `storage`. */
export function referenceTargets(dataSource: DataSource, storage: Storage): ReferenceTarget[] {
  let byStorage = targetsCache.get(dataSource.entityMetadatas);
  if (!byStorage) targetsCache.set(dataSource.entityMetadatas, (byStorage = new Map()));
  let targets = byStorage.get(storage);
  if (targets) return targets;
  const seen = new Set<string>();
  let complete = true;
  targets = [];
  const escape = (name: string) => dataSource.driver.escape(name);
  for (const metadata of dataSource.entityMetadatas) {
    if (metadata.tableType === 'view') continue;
    for (const { column, field } of fileColumnsOf(metadata)) {
      const uses = usesStorage(field, storage);
      if (uses === undefined) complete = false;
      if (!uses) continue;
      const key = `${metadata.tablePath}\u0000${column.databaseName}`;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push({ table: metadata.tablePath.split('.').map(escape).join('.'), column: escape(column.databaseName) });
    }
  }
  // A field whose storage is not configured yet may turn out to use this one: ask again next time.
  if (complete) byStorage.set(storage, targets);
  return targets;
}

/** Whether the field uses `storage`; undefined when its storage cannot be resolved (not registered yet). */
function usesStorage(field: { storage: Storage }, storage: Storage): boolean | undefined {
  try {
    return field.storage === storage;
  } catch {
    return undefined;
  }
}
