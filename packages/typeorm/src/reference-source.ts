/**
 * "Which of these names does a row still store?" for the core's sweeper and orphan scan,
 * answered for one DataSource: the core's `referencedNamesIn` (defaults count, names compared
 * byte for byte) asks each file column using the storage, per batch of names, with
 * `SELECT DISTINCT <column, compared in binary> FROM <table> WHERE <column> IN (...)` on the
 * indexed file columns (the binary comparison returns `a.txt` and `A.txt` as they are stored
 * under MariaDB's case-insensitive, space-padding collations). Soft-deleted rows count as
 * references (they can be recovered); views are not queried.
 */
import { type ReferenceColumn, type ReferenceSource, type Storage, referencedNamesIn } from '@filefield/core';
import type { DataSource, EntityMetadata } from 'typeorm';
import { fileColumnsOf } from './file-columns';

export class TypeOrmReferenceSource implements ReferenceSource {
  readonly label: string;

  constructor(private readonly dataSource: DataSource) {
    this.label = `TypeORM DataSource (${dataSource.options.type})`;
  }

  *storages(): Iterable<Storage> {
    for (const metadata of this.dataSource.entityMetadatas) for (const { field } of fileColumnsOf(metadata)) yield field.storage;
  }

  referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>> {
    return referencedNamesIn(this.columns(storageId), names);
  }

  /** The column's value compared byte for byte: the database's own equality may fold case or trailing spaces. */
  private exact(column: string): string {
    switch (this.dataSource.options.type) {
      case 'postgres':
        return `${column} COLLATE "C"`;
      case 'mysql':
      case 'mariadb':
        return `CONVERT(${column} USING utf8mb4) COLLATE utf8mb4_bin`;
      default:
        return `${column} COLLATE BINARY`;
    }
  }

  /** Every table column (deduplicated across inheritance; views only count their defaults) whose field uses the storage. */
  private *columns(storageId: string): Iterable<ReferenceColumn> {
    const seen = new Set<string>();
    const driver = this.dataSource.driver;
    const escape = (name: string) => driver.escape(name);
    for (const metadata of this.dataSource.entityMetadatas) {
      for (const { column, field } of fileColumnsOf(metadata)) {
        if (field.storage.id !== storageId) continue;
        const key = `${metadata.tablePath}\u0000${column.databaseName}`;
        if (metadata.tableType === 'view' || seen.has(key)) {
          yield { defaultName: field.defaultName };
          continue;
        }
        seen.add(key);
        const table = tablePath(metadata, escape);
        const name = escape(column.databaseName);
        yield {
          defaultName: field.defaultName,
          storedAmong: async (open) => {
            const sql = `SELECT DISTINCT ${this.exact(name)} AS ${driver.escape('name')} FROM ${table} WHERE ${name} IN (:...names)`;
            // TypeORM 0.3 requires the third argument (native parameters); 1.x dropped it.
            const escapeQuery = driver.escapeQueryWithParameters as (this: typeof driver, sql: string, parameters: object, nativeParameters: object) => [string, unknown[]];
            const [query, parameters] = escapeQuery.call(driver, sql, { names: open }, {});
            const rows = (await this.dataSource.query(query, parameters)) as Array<{ name: unknown }>;
            return rows.map((row) => row.name);
          },
        };
      }
    }
  }
}

function tablePath(metadata: EntityMetadata, escape: (name: string) => string): string {
  return metadata.tablePath.split('.').map(escape).join('.');
}
