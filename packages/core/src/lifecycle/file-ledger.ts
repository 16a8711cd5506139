/**
 * The ledger's writer side, shared by every ORM adapter. Adapters call it from their ORM events:
 *
 * - `nameClaim(storage)`: before an upload, each candidate name gets a row in its own short
 *   autocommit (an *upload intent*: the name is taken across processes, and a crash after the
 *   upload leaves a claim that expires into the sweeper's hands);
 * - `reference(session, files)`: in the transaction of a write that makes rows name files (an
 *   insert, a replaced name, a copy). It locks each file's row until that transaction ends, so
 *   a sweeper can never decide such a file is unreferenced while the write is open; a file the
 *   sweeper already condemned is refused (`FileDeletedError`);
 * - `release(session, files, reason)`: in the transaction of a write that made rows stop naming
 *   files (a removed row, a replaced or deleted file). It appends tasks, which commit or roll
 *   back with the write; commit never waits for the storage;
 * - `abandon(files)`: after a rollback, uploads whose rows never committed are checked at once
 *   instead of after the grace period.
 */
import { FileDeletedError, LedgerError } from '../errors';
import type { NameClaim, Storage } from '../storage';
import { fileKey } from './file-key';
import { type FileRowValues, LedgerSql, type Statement } from './ledger-sql';
import { FILES_TABLE, TASKS_TABLE } from './ledger-schema';
import type { LedgerDatabase, SqlSession } from './sql';

/** A file as the ledger sees it: a name in a storage. */
export interface LedgerFile {
  storage: Storage;
  name: string;
}

/** Why rows stopped naming a file (kept on the task, for operators). */
export type ReleaseReason = 'removed' | 'replaced' | 'deleted' | 'scan';

export interface FileLedgerOptions {
  /**
   * How long an upload may take from its claim to the commit of the row that names it, in
   * milliseconds (default one hour). Past it, an unreferenced upload is deleted by the sweeper.
   */
  gracePeriod?: number;
  /** The clock, in milliseconds since the epoch (tests move it forward). */
  clock?: () => number;
}

export const DEFAULT_GRACE_PERIOD = 60 * 60 * 1000;

/** Rows per multi-row statement: far below every database's parameter limit. */
const ROWS_PER_STATEMENT = 200;

export class FileLedger {
  readonly database: LedgerDatabase;
  readonly gracePeriod: number;
  readonly clock: () => number;
  private readonly sql: LedgerSql;

  constructor(database: LedgerDatabase, options: FileLedgerOptions = {}) {
    this.database = database;
    this.gracePeriod = options.gracePeriod ?? DEFAULT_GRACE_PERIOD;
    this.clock = options.clock ?? Date.now;
    this.sql = new LedgerSql(database.dialect);
    if (!Number.isFinite(this.gracePeriod) || this.gracePeriod < 0) throw new RangeError('gracePeriod must be a non-negative number of milliseconds.');
  }

  /** The claim `Storage.save` uses for uploads through an adapter. */
  nameClaim(storage: Storage): NameClaim {
    return {
      claim: async (name) => {
        const now = this.clock();
        const affected = await this.run(this.database.autocommit, this.sql.claim(rowOf(storage, name), now + this.gracePeriod, now));
        return affected > 0;
      },
      release: async (name) => {
        await this.run(this.database.autocommit, this.sql.release(fileKey(storage.id, name)));
      },
    };
  }

  /**
   * In the writer's transaction (`session`): rows of it now name `files`. Holds each file's
   * ledger row locked until that transaction ends. Throws `FileDeletedError` for a file the
   * sweeper is deleting or deleted; the transaction must then roll back.
   *
   * `claimUntil` is for writes that cannot run this inside their own transaction (Prisma batch
   * transactions): the files are then protected by a claim until that time instead of by a lock.
   */
  async reference(session: SqlSession, files: Iterable<LedgerFile>, options: { claimUntil?: number } = {}): Promise<void> {
    const rows = uniqueRows(files).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const now = this.clock();
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const batch = rows.slice(start, start + ROWS_PER_STATEMENT);
      let states: Array<Record<string, unknown>>;
      if (this.database.dialect === 'mysql') {
        await this.run(session, this.sql.reference(batch, options.claimUntil ?? null, now));
        states = await this.rows(session, this.sql.lockedStates(batch.map((row) => row.key)));
      } else {
        states = await this.rows(session, this.sql.reference(batch, options.claimUntil ?? null, now));
      }
      const condemned = new Set(states.filter((row) => row.state === 'deleting' || row.state === 'deleted').map((row) => String(row.file_key)));
      const refused = batch.find((row) => condemned.has(row.key));
      if (refused) throw new FileDeletedError(refused.name, refused.storageId);
    }
  }

  /**
   * In the writer's transaction (`session`): rows of it stopped naming `files`. Each becomes a
   * task the sweeper checks once the transaction committed (a rollback takes the tasks with it).
   */
  async release(session: SqlSession, files: Iterable<LedgerFile>, reason: ReleaseReason, options: { delay?: number } = {}): Promise<void> {
    const rows = uniqueRows(files);
    const now = this.clock();
    const dueAt = now + (options.delay ?? 0);
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const batch = rows.slice(start, start + ROWS_PER_STATEMENT).map((row) => ({ ...row, reason, dueAt }));
      await this.run(session, this.sql.addTasks(batch, now));
    }
  }

  /**
   * Outside any transaction: uploads whose rows never committed (a failed save, a rollback). Each
   * gets a claim that expires at `claimUntil` (default now: the sweeper checks it on its next
   * pass), or keeps an earlier one; a row the rollback took is made again. Harmless for a file a
   * committed row names: its claim was cleared, and the sweeper keeps what is referenced.
   */
  async abandon(files: Iterable<LedgerFile>, options: { claimUntil?: number } = {}): Promise<void> {
    const rows = uniqueRows(files);
    const now = this.clock();
    const claimUntil = options.claimUntil ?? now;
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      await this.run(this.database.autocommit, this.sql.abandon(rows.slice(start, start + ROWS_PER_STATEMENT), claimUntil, now));
    }
  }

  /** @internal The statements, for the sweeper and the orphan scan. */
  get statements(): LedgerSql {
    return this.sql;
  }

  /** @internal */
  async run(session: SqlSession, statement: Statement): Promise<number> {
    try {
      return await session.execute(statement.sql, statement.params);
    } catch (error) {
      throw ledgerError(error);
    }
  }

  /** @internal */
  async rows(session: SqlSession, statement: Statement): Promise<Array<Record<string, unknown>>> {
    try {
      return await session.rows(statement.sql, statement.params);
    } catch (error) {
      throw ledgerError(error);
    }
  }
}

function rowOf(storage: Storage, name: string): FileRowValues {
  const storageId = storage.id;
  return { key: fileKey(storageId, name), storageId, name };
}

function uniqueRows(files: Iterable<LedgerFile>): FileRowValues[] {
  const rows = new Map<string, FileRowValues>();
  for (const { storage, name } of files) {
    const row = rowOf(storage, name);
    rows.set(row.key, row);
  }
  return [...rows.values()];
}

/** A missing ledger table becomes an error that says how to create it; anything else passes through. */
export function ledgerError(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const missing = /(no such table|does not exist|doesn't exist)/i.test(message) && (message.includes(FILES_TABLE) || message.includes(TASKS_TABLE));
  if (!missing) return error;
  return new LedgerError(
    `filefield's ledger tables (${FILES_TABLE}, ${TASKS_TABLE}) are missing from this database. Create them with the adapter's ` +
      'migration (TypeORM: the FileFieldLedger1764547200000 migration, or fileFieldLedgerEntities with synchronize; Prisma: the filefield models ' +
      'and their SQL migration), or createLedgerTables() from @filefield/core.',
    { cause: error },
  );
}
