/**
 * The core's `LedgerDatabase` on a TypeORM DataSource: the ledger's statements run on the
 * writer's own QueryRunner inside its transaction, and on a pooled connection of their own for
 * the sweeper and for upload claims.
 *
 * SQLite: TypeORM runs every query of an SQLite DataSource on its one connection, so a claim made
 * while a transaction is open lands inside it (and a rollback takes it; the adapter then re-records
 * the upload, see subscriber.ts), and the sweeper waits until no transaction is open before it
 * starts its own.
 */
import { ConfigurationError, type LedgerDatabase, LedgerError, type SqlDialect, type SqlSession } from '@filefield/core';
import type { DataSource, QueryRunner } from 'typeorm';

export function ledgerDialect(dataSource: DataSource): SqlDialect {
  const type = dataSource.options.type;
  switch (type) {
    case 'postgres':
      return 'postgres';
    case 'mysql':
    case 'mariadb':
      return 'mysql';
    case 'better-sqlite3':
      return 'sqlite';
    default:
      throw new ConfigurationError(`filefield's ledger supports PostgreSQL, MySQL/MariaDB and SQLite DataSources, not '${type}'.`);
  }
}

/** A session on one QueryRunner (inside whatever transaction it has open). */
export function runnerSession(runner: QueryRunner): SqlSession {
  return {
    async rows(sql, params = []) {
      const result = await runner.query(sql, [...params], true);
      return (result.records ?? []) as Array<Record<string, unknown>>;
    },
    async execute(sql, params = []) {
      const result = await runner.query(sql, [...params], true);
      return result.affected ?? result.records?.length ?? 0;
    },
  };
}

export class TypeOrmLedgerDatabase implements LedgerDatabase {
  readonly dialect: SqlDialect;
  readonly autocommit: SqlSession;
  /** SQLite: the ledger's own transactions, one after the other (TypeORM would nest them on its one connection). */
  private sqliteQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly dataSource: DataSource) {
    this.dialect = ledgerDialect(dataSource);
    this.autocommit = {
      rows: (sql, params) => this.withRunner((runner) => runnerSession(runner).rows(sql, params)),
      execute: (sql, params) => this.withRunner((runner) => runnerSession(runner).execute(sql, params)),
    };
  }

  async transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    if (this.dialect !== 'sqlite') return this.run(work);
    const turn = this.sqliteQueue.then(() => this.run(work));
    this.sqliteQueue = turn.catch(() => undefined);
    return turn;
  }

  private run<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.withRunner(async (runner) => {
      if (this.dialect === 'sqlite') await waitUntilIdle(runner);
      await runner.startTransaction(this.dialect === 'sqlite' ? undefined : 'READ COMMITTED');
      try {
        const result = await work(runnerSession(runner));
        await runner.commitTransaction();
        return result;
      } catch (error) {
        if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    });
  }

  private async withRunner<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner('master');
    try {
      return await work(runner);
    } finally {
      await runner.release();
    }
  }
}

/** How long the ledger waits for an application transaction on SQLite's one connection. */
const SQLITE_IDLE_TIMEOUT = 30_000;

/**
 * SQLite's one connection: let an application transaction finish before the ledger starts one
 * (a sweep called from inside a transaction would wait for itself: it fails instead).
 */
async function waitUntilIdle(runner: QueryRunner): Promise<void> {
  const deadline = Date.now() + SQLITE_IDLE_TIMEOUT;
  while (runner.isTransactionActive) {
    if (Date.now() > deadline) {
      throw new LedgerError(
        `An SQLite transaction stayed open for ${SQLITE_IDLE_TIMEOUT / 1000} s while the ledger waited to start its own on TypeORM's one ` +
          'SQLite connection. Do not sweep from inside a transaction on SQLite.',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
