/**
 * What the ledger needs from a database: SQL sessions, supplied by each ORM adapter. The ledger
 * writes its statements once, per dialect, in this package; adapters only run them.
 */

/** The SQL dialects the ledger speaks (MariaDB and MySQL share 'mysql'). */
export type SqlDialect = 'postgres' | 'mysql' | 'sqlite';

export type SqlRow = Record<string, unknown>;

/** Runs statements on one connection. Placeholders are `$1, $2…` for postgres, `?` otherwise. */
export interface SqlSession {
  /** The rows of a SELECT, or of a write with RETURNING. */
  rows(sql: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  /** The number of rows a write affected. */
  execute(sql: string, params?: readonly unknown[]): Promise<number>;
}

/** The database that holds the ledger tables, as the adapter reaches it. */
export interface LedgerDatabase {
  readonly dialect: SqlDialect;
  /**
   * Run `work` in a transaction of its own, on a connection no application transaction is
   * using, at READ COMMITTED where the database has isolation levels. Commit when `work`
   * resolves, roll back when it throws.
   */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Statements that commit on their own, outside the application's transactions. */
  readonly autocommit: SqlSession;
}
