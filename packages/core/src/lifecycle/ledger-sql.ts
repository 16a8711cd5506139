/**
 * The ledger's statements, written once per dialect. Every statement is built here with `?`
 * placeholders (numbered for PostgreSQL) and run by `FileLedger` and `FileSweeper` through an
 * adapter's `SqlSession`. Table layout: ledger-schema.ts.
 */
import { randomUUID } from 'node:crypto';
import { FILES_TABLE as FILES, TASKS_TABLE as TASKS } from './ledger-schema';
import type { SqlDialect } from './sql';

/** One statement: SQL text and its parameters. */
export interface Statement {
  sql: string;
  params: unknown[];
}

/** A files row as `insert…` statements write it. */
export interface FileRowValues {
  key: string;
  storageId: string;
  name: string;
}

export class LedgerSql {
  constructor(readonly dialect: SqlDialect) {}

  /** Claim names for uploads: inserted rows are claimed, existing ones are taken. */
  claim(row: FileRowValues, claimUntil: number, now: number): Statement {
    const values = [row.key, row.storageId, row.name, 'present', claimUntil, now];
    return this.insertIgnoring(`${FILES} (file_key, storage_id, name, state, claim_expires_at, updated_at)`, '(?, ?, ?, ?, ?, ?)', values);
  }

  /** Give back a claim whose upload never happened (a row that took the name cleared the claim). */
  release(key: string): Statement {
    return this.statement(`DELETE FROM ${FILES} WHERE file_key = ? AND state = 'present' AND claim_expires_at IS NOT NULL`, [key]);
  }

  /**
   * A writer's transaction starts naming these files: create or lock each row, turn a 'checking'
   * row back to 'present' (which voids the sweeper's check in progress), and set the claim
   * (`null` clears an upload's claim: the row now holds the name). Keys must be sorted, so two
   * writers lock in the same order. PostgreSQL and SQLite return the states; MySQL needs
   * `lockedStates` afterwards.
   */
  reference(rows: FileRowValues[], claimUntil: number | null, now: number): Statement {
    const { columns, tuples, values } = presentRows(rows, claimUntil, now);
    if (this.dialect === 'mysql') {
      return this.statement(
        `INSERT INTO ${columns} VALUES ${tuples} ON DUPLICATE KEY UPDATE ` +
          `state = IF(state = 'checking', 'present', state), claim_expires_at = VALUES(claim_expires_at), updated_at = VALUES(updated_at)`,
        values,
      );
    }
    return this.statement(
      `INSERT INTO ${columns} VALUES ${tuples} ON CONFLICT (file_key) DO UPDATE SET ` +
        `state = CASE WHEN ${FILES}.state = 'checking' THEN 'present' ELSE ${FILES}.state END, ` +
        `claim_expires_at = excluded.claim_expires_at, updated_at = excluded.updated_at RETURNING file_key, state`,
      values,
    );
  }

  /** MySQL: the states of rows this transaction just locked (a locking read sees the latest version). */
  lockedStates(keys: string[]): Statement {
    return this.statement(`SELECT file_key, state FROM ${FILES} WHERE file_key IN (${marks(keys)}) FOR UPDATE`, keys);
  }

  /** Rows stopped naming these files: check each once due. */
  addTasks(rows: Array<FileRowValues & { reason: string; dueAt: number }>, now: number): Statement {
    const values = rows.flatMap((row) => [randomUUID(), row.key, row.storageId, row.name, row.reason, row.dueAt, now]);
    return this.statement(
      `INSERT INTO ${TASKS} (id, file_key, storage_id, name, reason, due_at, created_at) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
      values,
    );
  }

  /** Uploads whose rows never committed: their claims expire at `claimUntil` at the latest (re-creating a row a rollback took). */
  abandon(rows: FileRowValues[], claimUntil: number, now: number): Statement {
    const { columns, tuples, values } = presentRows(rows, claimUntil, now);
    if (this.dialect === 'mysql') {
      return this.statement(
        `INSERT INTO ${columns} VALUES ${tuples} ON DUPLICATE KEY UPDATE ` +
          `claim_expires_at = IF(claim_expires_at IS NULL, NULL, LEAST(claim_expires_at, VALUES(claim_expires_at)))`,
        values,
      );
    }
    const least = this.dialect === 'postgres' ? 'LEAST' : 'MIN';
    return this.statement(
      `INSERT INTO ${columns} VALUES ${tuples} ON CONFLICT (file_key) DO UPDATE SET ` +
        `claim_expires_at = CASE WHEN ${FILES}.claim_expires_at IS NULL THEN NULL ELSE ${least}(${FILES}.claim_expires_at, excluded.claim_expires_at) END`,
      values,
    );
  }

  // ---- the sweeper ----

  /** Due tasks of the given storages, oldest first, leaving out files another sweeper holds under a live lease. */
  dueTasks(storageIds: string[], now: number, limit: number): Statement {
    return this.statement(
      `SELECT t.id, t.file_key, t.storage_id, t.name FROM ${TASKS} t WHERE t.storage_id IN (${marks(storageIds)}) AND t.due_at <= ? ` +
        `AND NOT EXISTS (SELECT 1 FROM ${FILES} f WHERE f.file_key = t.file_key AND f.state IN ('checking', 'deleting') AND f.lease_until > ?) ` +
        `ORDER BY t.due_at LIMIT ${int(limit)}`,
      [...storageIds, now, now],
    );
  }

  /** Rows whose upload claim expired with no row taking the name. */
  expiredClaims(storageIds: string[], now: number, limit: number): Statement {
    return this.statement(
      `SELECT file_key, storage_id, name FROM ${FILES} WHERE claim_expires_at <= ? AND state = 'present' AND storage_id IN (${marks(storageIds)}) LIMIT ${int(limit)}`,
      [now, ...storageIds],
    );
  }

  /** Rows a sweeper was checking or deleting when its lease ran out (it crashed, or the storage failed). */
  expiredLeases(storageIds: string[], now: number, limit: number): Statement {
    return this.statement(
      `SELECT file_key, storage_id, name FROM ${FILES} WHERE state IN ('checking', 'deleting') AND lease_until <= ? AND storage_id IN (${marks(storageIds)}) LIMIT ${int(limit)}`,
      [now, ...storageIds],
    );
  }

  /** Which of these keys have a row (a plain read: it never waits for a writer). */
  existingKeys(keys: string[]): Statement {
    return this.statement(`SELECT file_key FROM ${FILES} WHERE file_key IN (${marks(keys)})`, keys);
  }

  /** Make sure a row exists for each task's file, so the sweeper has something to lock. */
  ensureRows(rows: FileRowValues[], now: number): Statement {
    const values = rows.flatMap((row) => [row.key, row.storageId, row.name, 'present', now]);
    return this.insertIgnoring(`${FILES} (file_key, storage_id, name, state, updated_at)`, rows.map(() => '(?, ?, ?, ?, ?)').join(', '), values);
  }

  /**
   * Lock the rows no one else holds (no waiting), leaving alone rows another sweeper has under a
   * live lease (locking those, even briefly, would make that sweeper skip them). SQLite has one
   * writer and needs no row locks.
   */
  lockRows(keys: string[], now: number): Statement {
    const lock = this.dialect === 'sqlite' ? '' : ' FOR UPDATE SKIP LOCKED';
    return this.statement(
      `SELECT file_key, state, claim_expires_at, lease_token, lease_until FROM ${FILES} WHERE file_key IN (${marks(keys)}) ` +
        `AND NOT (state IN ('checking', 'deleting') AND lease_until > ?)${lock}`,
      [...keys, now],
    );
  }

  /** Take rows for this pass: 'checking' (or still 'deleting'), under this sweeper's lease. */
  lease(keys: string[], token: string, until: number, now: number): Statement {
    return this.statement(
      `UPDATE ${FILES} SET state = CASE WHEN state = 'deleting' THEN 'deleting' ELSE 'checking' END, lease_token = ?, lease_until = ?, updated_at = ? WHERE file_key IN (${marks(keys)})`,
      [token, until, now, ...keys],
    );
  }

  /** Rows still under this lease, locked (skipping rows a writer holds). */
  leasedRows(keys: string[], token: string): Statement {
    const lock = this.dialect === 'sqlite' ? '' : ' FOR UPDATE SKIP LOCKED';
    return this.statement(`SELECT file_key, state, attempts FROM ${FILES} WHERE file_key IN (${marks(keys)}) AND lease_token = ?${lock}`, [...keys, token]);
  }

  /** Checked and unreferenced: from now on no write may name them. */
  markDeleting(keys: string[], token: string, until: number, now: number): Statement {
    return this.statement(
      `UPDATE ${FILES} SET state = 'deleting', lease_until = ?, updated_at = ? WHERE file_key IN (${marks(keys)}) AND lease_token = ? AND state = 'checking'`,
      [until, now, ...keys, token],
    );
  }

  /** Checked and still referenced (or no longer a candidate): back to plain 'present'. */
  markPresent(keys: string[], now: number): Statement {
    return this.statement(
      `UPDATE ${FILES} SET state = 'present', lease_token = NULL, lease_until = NULL, claim_expires_at = NULL, attempts = 0, last_error = NULL, updated_at = ? WHERE file_key IN (${marks(keys)})`,
      [now, ...keys],
    );
  }

  /** The object is gone: keep a tombstone until `until`. */
  markDeleted(keys: string[], token: string, until: number, now: number): Statement {
    return this.statement(
      `UPDATE ${FILES} SET state = 'deleted', lease_token = NULL, lease_until = ?, claim_expires_at = NULL, attempts = 0, last_error = NULL, updated_at = ? WHERE file_key IN (${marks(keys)}) AND lease_token = ?`,
      [until, now, ...keys, token],
    );
  }

  /** A deletion failed: try again at `retryAt`. */
  markFailed(key: string, token: string, retryAt: number, error: string, now: number): Statement {
    return this.statement(
      `UPDATE ${FILES} SET lease_until = ?, attempts = attempts + 1, last_error = ?, updated_at = ? WHERE file_key = ? AND lease_token = ?`,
      [retryAt, error, now, key, token],
    );
  }

  /** A claimed name's check waits for its claim to expire. */
  postponeTasks(keys: string[], until: number): Statement {
    return this.statement(`UPDATE ${TASKS} SET due_at = ? WHERE file_key IN (${marks(keys)}) AND due_at < ?`, [until, ...keys, until]);
  }

  deleteTasks(ids: string[]): Statement {
    return this.statement(`DELETE FROM ${TASKS} WHERE id IN (${marks(ids)})`, ids);
  }

  deleteTasksOf(keys: string[]): Statement {
    return this.statement(`DELETE FROM ${TASKS} WHERE file_key IN (${marks(keys)})`, keys);
  }

  /** Tombstones past their retention, a bounded number at a time. */
  purgeTombstones(now: number, limit: number): Statement {
    const due = `state = 'deleted' AND lease_until <= ?`;
    if (this.dialect === 'mysql') return this.statement(`DELETE FROM ${FILES} WHERE ${due} LIMIT ${int(limit)}`, [now]);
    return this.statement(`DELETE FROM ${FILES} WHERE file_key IN (SELECT file_key FROM ${FILES} WHERE ${due} LIMIT ${int(limit)})`, [now]);
  }

  /**
   * The orphan scan found objects under names the sweeper once deleted: something wrote them
   * again behind the ledger. Their tombstones go, so that the scan's tasks are not taken for
   * work already done (the sweeper creates fresh rows for them).
   */
  forgetTombstones(storageId: string, keys: string[]): Statement {
    return this.statement(`DELETE FROM ${FILES} WHERE file_key IN (${marks(keys)}) AND storage_id = ? AND state = 'deleted'`, [...keys, storageId]);
  }

  /** Names with a live claim (uploads under way), for the orphan scan. */
  claimedNames(storageId: string, keys: string[], now: number): Statement {
    return this.statement(
      `SELECT file_key FROM ${FILES} WHERE file_key IN (${marks(keys)}) AND storage_id = ? AND (claim_expires_at > ? OR state IN ('checking', 'deleting'))`,
      [...keys, storageId, now],
    );
  }

  /** Bound how long the sweeper's transaction waits for a writer's lock (none on SQLite: one writer). */
  lockTimeout(milliseconds: number): Statement | undefined {
    if (this.dialect === 'postgres') return this.statement(`SET LOCAL lock_timeout = ${int(milliseconds)}`, []);
    if (this.dialect === 'mysql') return this.statement(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(int(milliseconds) / 1000))}`, []);
    return undefined;
  }

  /** MySQL: give the pooled connection back with the server's lock wait timeout. */
  resetLockTimeout(): Statement | undefined {
    return this.dialect === 'mysql' ? this.statement('SET SESSION innodb_lock_wait_timeout = DEFAULT', []) : undefined;
  }

  private insertIgnoring(into: string, tuples: string, values: unknown[]): Statement {
    switch (this.dialect) {
      case 'postgres':
        return this.statement(`INSERT INTO ${into} VALUES ${tuples} ON CONFLICT (file_key) DO NOTHING`, values);
      case 'mysql':
        return this.statement(`INSERT IGNORE INTO ${into} VALUES ${tuples}`, values);
      case 'sqlite':
        return this.statement(`INSERT OR IGNORE INTO ${into} VALUES ${tuples}`, values);
    }
  }

  private statement(sql: string, params: unknown[]): Statement {
    if (this.dialect !== 'postgres') return { sql, params };
    let index = 0;
    return { sql: sql.replace(/\?/g, () => `$${++index}`), params };
  }
}

/** The INSERT parts for 'present' rows with a claim (or none): columns, placeholders, values. */
function presentRows(rows: FileRowValues[], claimUntil: number | null, now: number): { columns: string; tuples: string; values: unknown[] } {
  return {
    columns: `${FILES} (file_key, storage_id, name, state, claim_expires_at, updated_at)`,
    tuples: rows.map(() => '(?, ?, ?, ?, ?, ?)').join(', '),
    values: rows.flatMap((row) => [row.key, row.storageId, row.name, 'present', claimUntil, now]),
  };
}

function marks(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

function int(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`Expected a non-negative integer, got ${value}.`);
  return value;
}
