/**
 * The three real databases every shared suite runs on: SQLite (better-sqlite3, always),
 * PostgreSQL and MariaDB (gated by test-support/services.ts, required in CI).
 * Each suite gets its own tables (`ff_typeorm_<random>_…`) created by `synchronize` and dropped
 * afterwards, so parallel Jest workers and the Prisma adapter's tests never share a table.
 */
import { randomSuffix } from '@filefield/core';
import { DataSource, type DataSourceOptions, type Logger } from 'typeorm';
import { describeWith, serviceUrls } from '../../../../test-support/services';
import { createFileFieldLedger } from '../../src';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';

/** `body` once per database: SQLite always, PostgreSQL and MariaDB when reachable (or required). */
export function describeEachDatabase(title: string, body: (kind: DatabaseKind) => void): void {
  describe(`${title} [sqlite]`, () => body('sqlite'));
  describeWith('postgres', `${title} [postgres]`, () => body('postgres'));
  describeWith('mariadb', `${title} [mariadb]`, () => body('mariadb'));
}

/** A prefix for this suite's table names (lower case: MariaDB table names may be case-sensitive). */
export function tablePrefix(): string {
  return `ff_typeorm_${randomSuffix(6).toLowerCase()}`;
}

export function connectionOptions(kind: DatabaseKind): DataSourceOptions {
  switch (kind) {
    case 'sqlite':
      return { type: 'better-sqlite3', database: ':memory:' };
    case 'postgres':
      return { type: 'postgres', url: serviceUrls.postgres, poolSize: 10 };
    case 'mariadb':
      return { type: 'mariadb', url: serviceUrls.mariadb, poolSize: 10 };
  }
}

export async function openDataSource(
  kind: DatabaseKind,
  entities: Function[],
  extra: { logger?: Logger; poolSize?: number; options?: DataSourceOptions } = {},
): Promise<DataSource> {
  const dataSource = new DataSource({
    ...(extra.options ?? connectionOptions(kind)),
    ...(extra.poolSize && kind !== 'sqlite' ? { poolSize: extra.poolSize } : {}),
    entities,
    synchronize: true,
    ...(extra.logger ? { logger: extra.logger, logging: ['query'] } : {}),
  } as DataSourceOptions);
  await dataSource.initialize();
  await createFileFieldLedger(dataSource);
  return dataSource;
}

/** Drop this suite's tables (children first; the shared ledger tables stay) and close the connections. */
export async function closeDataSource(dataSource: DataSource | undefined): Promise<void> {
  if (!dataSource?.isInitialized) return;
  const runner = dataSource.createQueryRunner();
  try {
    const tables = dataSource.entityMetadatas.filter((metadata) => metadata.tableType !== 'view').map((metadata) => metadata.tablePath);
    for (const table of [...new Set(tables)].reverse()) await runner.dropTable(table, true, true);
  } finally {
    await runner.release();
    await dataSource.destroy();
  }
}

/** A TypeORM logger that keeps every query it is shown. */
export class QueryLog implements Logger {
  readonly queries: string[] = [];

  logQuery(query: string): void {
    this.queries.push(query);
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** Reference checks: `SELECT DISTINCT <col compared in binary> AS name FROM <table> WHERE <col> IN (...)`. */
  referenceQueries(): string[] {
    return this.queries.filter((query) => /^SELECT DISTINCT .+ FROM .+ WHERE .+ IN \(/.test(query));
  }

  clear(): void {
    this.queries.length = 0;
  }
}
