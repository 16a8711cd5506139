/**
 * "Which of these names does a row still store?" for the core's sweeper and orphan scan,
 * answered for one DataSource with one query per file column using the storage and per batch of
 * names: `SELECT DISTINCT <column, compared in binary> FROM <table> WHERE <column> IN (...)` on
 * the indexed file columns. The binary comparison keeps `a.txt` and `A.txt` (and `a.txt `) apart
 * under MariaDB's case-insensitive, space-padding collations. Soft-deleted rows count as
 * references (they can be recovered); views are skipped; a field's default always counts.
 */
import type { ReferenceSource, Storage } from '@filefield/core';
import type { DataSource, EntityMetadata } from 'typeorm';
import { fileColumnsOf } from './file-columns';

interface ReferenceTarget {
  table: string;
  column: string;
}

export class TypeOrmReferenceSource implements ReferenceSource {
  readonly label: string;

  constructor(private readonly dataSource: DataSource) {
    this.label = `TypeORM DataSource (${dataSource.options.type})`;
  }

  *storages(): Iterable<Storage> {
    for (const metadata of this.dataSource.entityMetadatas) for (const { field } of fileColumnsOf(metadata)) yield field.storage;
  }

  async referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>> {
    const referenced = new Set<string>();
    const { targets, defaults } = this.targets(storageId);
    for (const name of names) if (defaults.has(name)) referenced.add(name);
    const driver = this.dataSource.driver;
    for (const target of targets) {
      const open = names.filter((name) => !referenced.has(name));
      if (open.length === 0) break;
      const sql = `SELECT DISTINCT ${this.exact(target.column)} AS ${driver.escape('name')} FROM ${target.table} WHERE ${target.column} IN (:...names)`;
      const [query, parameters] = driver.escapeQueryWithParameters(sql, { names: open });
      const rows = (await this.dataSource.query(query, parameters)) as Array<{ name: unknown }>;
      const wanted = new Set(open);
      for (const row of rows) {
        const name = typeof row.name === 'string' ? row.name : Buffer.isBuffer(row.name) ? row.name.toString('utf8') : String(row.name);
        if (wanted.has(name)) referenced.add(name);
      }
    }
    return referenced;
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

  /** Every table column (deduplicated across inheritance) whose field uses the storage, and those fields' defaults. */
  private targets(storageId: string): { targets: ReferenceTarget[]; defaults: Set<string> } {
    const seen = new Set<string>();
    const targets: ReferenceTarget[] = [];
    const defaults = new Set<string>();
    const escape = (name: string) => this.dataSource.driver.escape(name);
    for (const metadata of this.dataSource.entityMetadatas) {
      for (const { column, field } of fileColumnsOf(metadata)) {
        if (field.storage.id !== storageId) continue;
        if (field.defaultName !== undefined) defaults.add(field.defaultName);
        if (metadata.tableType === 'view') continue;
        const key = `${metadata.tablePath}\u0000${column.databaseName}`;
        if (seen.has(key)) continue;
        seen.add(key);
        targets.push({ table: tablePath(metadata, escape), column: escape(column.databaseName) });
      }
    }
    return { targets, defaults };
  }
}

function tablePath(metadata: EntityMetadata, escape: (name: string) => string): string {
  return metadata.tablePath.split('.').map(escape).join('.');
}
