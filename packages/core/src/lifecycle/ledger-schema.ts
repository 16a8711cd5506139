/**
 * The ledger's two tables, as DDL per dialect. Adapters ship them as migrations (TypeORM) or
 * checked-in SQL (Prisma); every statement is idempotent, so applying them twice is harmless.
 *
 * - `filefield_files`: one row per file name filefield has seen: claimed by an upload, referenced
 *   by a write, being checked or deleted by the sweeper, or deleted (a tombstone, kept for
 *   `tombstoneRetention` so that a stale copy of the name is refused). Keyed by a SHA-256 of
 *   storage id and name, so names compare byte for byte under any collation.
 * - `filefield_tasks`: "check this name once due", appended in the transaction that removed or
 *   replaced a file (a random id and no other unique key, so writers never wait for each other or
 *   for the sweeper).
 */
import type { SqlDialect } from './sql';

export const FILES_TABLE = 'filefield_files';
export const TASKS_TABLE = 'filefield_tasks';

/** The longest storage id and name the tables hold (S3 keys are at most 1024 bytes). */
export const MAX_STORAGE_ID_LENGTH = 255;
export const MAX_NAME_LENGTH = 1024;

export function ledgerSchema(dialect: SqlDialect): string[] {
  switch (dialect) {
    case 'postgres':
      return [
        `CREATE TABLE IF NOT EXISTS ${FILES_TABLE} (
  file_key CHAR(64) NOT NULL PRIMARY KEY,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  state VARCHAR(16) NOT NULL,
  claim_expires_at BIGINT NULL,
  lease_token VARCHAR(64) NULL,
  lease_until BIGINT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error VARCHAR(1000) NULL,
  updated_at BIGINT NOT NULL
)`,
        `CREATE INDEX IF NOT EXISTS ${FILES_TABLE}_claim_idx ON ${FILES_TABLE} (claim_expires_at)`,
        `CREATE INDEX IF NOT EXISTS ${FILES_TABLE}_lease_idx ON ${FILES_TABLE} (state, lease_until)`,
        `CREATE TABLE IF NOT EXISTS ${TASKS_TABLE} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  file_key CHAR(64) NOT NULL,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  reason VARCHAR(16) NOT NULL,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
)`,
        `CREATE INDEX IF NOT EXISTS ${TASKS_TABLE}_due_idx ON ${TASKS_TABLE} (storage_id, due_at)`,
        `CREATE INDEX IF NOT EXISTS ${TASKS_TABLE}_key_idx ON ${TASKS_TABLE} (file_key)`,
      ];
    case 'mysql':
      return [
        `CREATE TABLE IF NOT EXISTS ${FILES_TABLE} (
  file_key CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  state VARCHAR(16) NOT NULL,
  claim_expires_at BIGINT NULL,
  lease_token VARCHAR(64) NULL,
  lease_until BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error VARCHAR(1000) NULL,
  updated_at BIGINT NOT NULL,
  INDEX ${FILES_TABLE}_claim_idx (claim_expires_at),
  INDEX ${FILES_TABLE}_lease_idx (state, lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
        `CREATE TABLE IF NOT EXISTS ${TASKS_TABLE} (
  id VARCHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
  file_key CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  storage_id VARCHAR(255) NOT NULL,
  name VARCHAR(1024) NOT NULL,
  reason VARCHAR(16) NOT NULL,
  due_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  INDEX ${TASKS_TABLE}_due_idx (storage_id, due_at),
  INDEX ${TASKS_TABLE}_key_idx (file_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      ];
    case 'sqlite':
      return [
        `CREATE TABLE IF NOT EXISTS ${FILES_TABLE} (
  file_key TEXT NOT NULL PRIMARY KEY,
  storage_id TEXT NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  claim_expires_at INTEGER NULL,
  lease_token TEXT NULL,
  lease_until INTEGER NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  updated_at INTEGER NOT NULL
)`,
        `CREATE INDEX IF NOT EXISTS ${FILES_TABLE}_claim_idx ON ${FILES_TABLE} (claim_expires_at)`,
        `CREATE INDEX IF NOT EXISTS ${FILES_TABLE}_lease_idx ON ${FILES_TABLE} (state, lease_until)`,
        `CREATE TABLE IF NOT EXISTS ${TASKS_TABLE} (
  id TEXT NOT NULL PRIMARY KEY,
  file_key TEXT NOT NULL,
  storage_id TEXT NOT NULL,
  name TEXT NOT NULL,
  reason TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
)`,
        `CREATE INDEX IF NOT EXISTS ${TASKS_TABLE}_due_idx ON ${TASKS_TABLE} (storage_id, due_at)`,
        `CREATE INDEX IF NOT EXISTS ${TASKS_TABLE}_key_idx ON ${TASKS_TABLE} (file_key)`,
      ];
  }
}

/** Apply the schema through a session (tests, `filefield` CLI, quick starts). */
export async function createLedgerTables(session: { execute(sql: string): Promise<number> }, dialect: SqlDialect): Promise<void> {
  for (const statement of ledgerSchema(dialect)) await session.execute(statement);
}
