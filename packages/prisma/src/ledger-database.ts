/**
 * The core's `LedgerDatabase` on a Prisma client: raw statements through `$queryRawUnsafe` /
 * `$executeRawUnsafe`, inside an interactive transaction's client for the writer's statements,
 * and through the client the extension was applied to (its own pooled connections) for the
 * sweeper and for upload claims. Prisma's SQLite adapter runs everything on one connection: a
 * claim made while an interactive transaction is open lands inside it (the extension makes it
 * again after a rollback, see file-transaction.ts).
 */
import { ConfigurationError, type LedgerDatabase, type SqlDialect, type SqlSession } from '@filefield/core';

/** The raw-query surface of a Prisma client or interactive transaction client. */
export interface RawClient {
  $queryRawUnsafe(sql: string, ...values: unknown[]): Promise<unknown>;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
}

export interface TransactionClient extends RawClient {
  $transaction<T>(work: (tx: RawClient) => Promise<T>, options?: { isolationLevel?: string; timeout?: number; maxWait?: number }): Promise<T>;
}

export function prismaDialect(client: object): SqlDialect {
  // Prisma's connector name; the one piece of client state filefield reads (set since Prisma 4).
  const provider = (client as { _activeProvider?: unknown })._activeProvider;
  switch (provider) {
    case 'postgresql':
    case 'postgres':
      return 'postgres';
    case 'mysql':
      return 'mysql';
    case 'sqlite':
      return 'sqlite';
    default:
      throw new ConfigurationError(`fileFields: filefield's ledger supports PostgreSQL, MySQL/MariaDB and SQLite, not '${String(provider)}'.`);
  }
}

export function rawSession(client: RawClient): SqlSession {
  return {
    rows: async (sql, params = []) => (await client.$queryRawUnsafe(sql, ...params)) as Array<Record<string, unknown>>,
    execute: (sql, params = []) => client.$executeRawUnsafe(sql, ...params),
  };
}

export class PrismaLedgerDatabase implements LedgerDatabase {
  readonly dialect: SqlDialect;
  readonly autocommit: SqlSession;

  constructor(private readonly client: TransactionClient) {
    this.dialect = prismaDialect(client);
    this.autocommit = rawSession(client);
  }

  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T> {
    const options = this.dialect === 'sqlite' ? { timeout: 30_000 } : { isolationLevel: 'ReadCommitted', timeout: 30_000 };
    return this.client.$transaction((tx) => work(rawSession(tx)), options);
  }
}
