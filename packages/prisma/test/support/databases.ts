/**
 * Real databases for the suites: a Prisma client per provider over its driver adapter, with the
 * tables created from the checked-in migrations (prisma/<provider>/migrations/*\/migration.sql),
 * applied statement by statement through the client (the schema engine is not available).
 * Every executed SQL statement is logged, so tests can count queries.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as MySqlClient } from '../../../../prisma/generated/mysql/client';
import { PrismaClient as PostgresClient } from '../../../../prisma/generated/postgresql/client';
import { PrismaClient as SqliteClient } from '../../../../prisma/generated/sqlite/client';
import { serviceUrls } from '../../../../test-support/services';

export type Provider = 'sqlite' | 'postgresql' | 'mysql';

/** The three generated clients have the same models; the suites are typed against one of them. */
export type BaseClient = SqliteClient<'query'>;

export interface TestDatabase {
  readonly provider: Provider;
  readonly client: BaseClient;
  /** How another process reaches the same database (`file:` path for SQLite). */
  readonly url: string;
  /** SQL statements executed since the last `reset()` or `sql.length = 0`. */
  readonly sql: string[];
  /** Empty both tables. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const PRISMA_DIR = resolve(__dirname, '../../../../prisma');
const TABLES = ['ff_prisma_attachment', 'ff_prisma_my_storage'];

/** The migrations of a provider, oldest first, split into statements. */
export function migrationStatements(provider: Provider): string[] {
  const dir = join(PRISMA_DIR, provider, 'migrations');
  const names = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  return names.flatMap((name) =>
    readFileSync(join(dir, name, 'migration.sql'), 'utf8')
      .split(/;\s*$/m)
      .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
      .filter((statement) => statement !== ''),
  );
}

const LOG = { log: [{ emit: 'event' as const, level: 'query' as const }] };

/** A client for `url` (another process opens the same database with it). */
export function clientFor(provider: Provider, url: string, options: object = {}): BaseClient {
  switch (provider) {
    case 'sqlite':
      return new SqliteClient({ adapter: new PrismaBetterSqlite3({ url }), ...options }) as unknown as BaseClient;
    case 'postgresql':
      return new PostgresClient({ adapter: new PrismaPg({ connectionString: url }), ...options }) as unknown as BaseClient;
    case 'mysql':
      return new MySqlClient({ adapter: new PrismaMariaDb(url.replace(/^mysql:/, 'mariadb:')), ...options }) as unknown as BaseClient;
  }
}

function createClient(provider: Provider): { client: BaseClient; url: string; cleanup: () => void } {
  switch (provider) {
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'filefield-prisma-'));
      const url = `file:${join(dir, 'test.db')}`;
      return { client: clientFor(provider, url, LOG), url, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    }
    case 'postgresql':
      return { client: clientFor(provider, serviceUrls.postgres, LOG), url: serviceUrls.postgres, cleanup: () => undefined };
    case 'mysql':
      return { client: clientFor(provider, serviceUrls.mariadb, LOG), url: serviceUrls.mariadb, cleanup: () => undefined };
  }
}

/** Open a database with freshly created tables (dropped first: earlier runs may have left them). */
export async function openDatabase(provider: Provider): Promise<TestDatabase> {
  const { client, url, cleanup } = createClient(provider);
  const sql: string[] = [];
  client.$on('query', (event) => sql.push(event.query));
  for (const table of TABLES) {
    await client.$executeRawUnsafe(provider === 'postgresql' ? `DROP TABLE IF EXISTS "${table}" CASCADE` : `DROP TABLE IF EXISTS ${quote(provider, table)}`);
  }
  for (const statement of migrationStatements(provider)) await client.$executeRawUnsafe(statement);
  return {
    provider,
    client,
    url,
    sql,
    async reset() {
      for (const table of TABLES) await client.$executeRawUnsafe(`DELETE FROM ${quote(provider, table)}`);
      sql.length = 0;
    },
    async close() {
      await client.$disconnect();
      cleanup();
    },
  };
}

function quote(provider: Provider, table: string): string {
  return provider === 'mysql' ? `\`${table}\`` : `"${table}"`;
}
