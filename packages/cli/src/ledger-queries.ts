/**
 * The read-only queries `ledger status` and `check` run on the ledger tables (the core owns the
 * statements that change them). Plain SQL every dialect accepts; `?` becomes `$n` on PostgreSQL.
 */
import { FILES_TABLE, TASKS_TABLE, type FileLedger, type SqlRow } from '@filefield/core';

export interface FailingFile {
  storageId: string;
  name: string;
  attempts: number;
  lastError: string | null;
  /** When the sweeper tries again (ISO time), if known. */
  nextAttempt: string | null;
}

export interface LedgerStatus {
  dialect: string;
  /** The storage ids counted. */
  storages: string[];
  /** filefield_files rows by state: present, checking, deleting, deleted (tombstones). */
  files: Record<'present' | 'checking' | 'deleting' | 'deleted', number>;
  /** Present rows an upload claims right now (its row has not committed yet). */
  claimed: number;
  /** Present rows whose claim ran out: the sweeper checks them next. */
  expiredClaims: number;
  tasks: { due: number; notDue: number };
  /** Files whose deletion failed and is retried (attempts > 0), most attempts first. */
  failing: { count: number; files: FailingFile[] };
}

const STATES = ['present', 'checking', 'deleting', 'deleted'] as const;
/** The columns the core's statements use: a table without one of them is an old schema. */
const FILE_COLUMNS = 'file_key, storage_id, name, state, claim_expires_at, lease_token, lease_until, attempts, last_error, updated_at';
const TASK_COLUMNS = 'id, file_key, storage_id, name, reason, due_at, created_at';

async function rows(ledger: FileLedger, sql: string, params: unknown[] = []): Promise<SqlRow[]> {
  let index = 0;
  const text = ledger.database.dialect === 'postgres' ? sql.replace(/\?/g, () => `$${++index}`) : sql;
  return ledger.rows(ledger.database.autocommit, { sql: text, params });
}

const marks = (values: readonly unknown[]) => values.map(() => '?').join(', ');
const count = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));

/** Both tables exist with every column the core uses (a missing table is the core's LedgerError). */
export async function checkLedgerTables(ledger: FileLedger): Promise<void> {
  await rows(ledger, `SELECT ${FILE_COLUMNS} FROM ${FILES_TABLE} WHERE 1 = 0`);
  await rows(ledger, `SELECT ${TASK_COLUMNS} FROM ${TASKS_TABLE} WHERE 1 = 0`);
}

export async function ledgerStatus(ledger: FileLedger, storageIds: string[], options: { now: number; failingLimit?: number }): Promise<LedgerStatus> {
  const { now } = options;
  const limit = options.failingLimit ?? 20;
  const inStorages = `storage_id IN (${marks(storageIds)})`;
  const status: LedgerStatus = {
    dialect: ledger.database.dialect,
    storages: storageIds,
    files: { present: 0, checking: 0, deleting: 0, deleted: 0 },
    claimed: 0,
    expiredClaims: 0,
    tasks: { due: 0, notDue: 0 },
    failing: { count: 0, files: [] },
  };
  const byState = await rows(
    ledger,
    `SELECT state, COUNT(*) AS n, SUM(CASE WHEN claim_expires_at > ? THEN 1 ELSE 0 END) AS claimed, ` +
      `SUM(CASE WHEN claim_expires_at <= ? THEN 1 ELSE 0 END) AS expired FROM ${FILES_TABLE} WHERE ${inStorages} GROUP BY state`,
    [now, now, ...storageIds],
  );
  for (const row of byState) {
    const state = String(row.state) as (typeof STATES)[number];
    if (STATES.includes(state)) status.files[state] = count(row.n);
    if (state === 'present') {
      status.claimed = count(row.claimed);
      status.expiredClaims = count(row.expired);
    }
  }
  const [tasks] = await rows(
    ledger,
    `SELECT SUM(CASE WHEN due_at <= ? THEN 1 ELSE 0 END) AS due, SUM(CASE WHEN due_at > ? THEN 1 ELSE 0 END) AS later FROM ${TASKS_TABLE} WHERE ${inStorages}`,
    [now, now, ...storageIds],
  );
  status.tasks = { due: count(tasks?.due), notDue: count(tasks?.later) };
  const [failing] = await rows(ledger, `SELECT COUNT(*) AS n FROM ${FILES_TABLE} WHERE attempts > 0 AND ${inStorages}`, storageIds);
  status.failing.count = count(failing?.n);
  if (status.failing.count > 0) {
    const worst = await rows(
      ledger,
      `SELECT storage_id, name, attempts, last_error, lease_until FROM ${FILES_TABLE} WHERE attempts > 0 AND ${inStorages} ORDER BY attempts DESC, name LIMIT ${Math.trunc(limit)}`,
      storageIds,
    );
    status.failing.files = worst.map((row) => ({
      storageId: String(row.storage_id),
      name: String(row.name),
      attempts: count(row.attempts),
      lastError: row.last_error === null || row.last_error === undefined ? null : String(row.last_error),
      nextAttempt: row.lease_until === null || row.lease_until === undefined ? null : new Date(Number(row.lease_until)).toISOString(),
    }));
  }
  return status;
}
