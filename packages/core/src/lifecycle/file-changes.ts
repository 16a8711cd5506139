/**
 * What writes do to files between the ORM and the ledger, kept once for every adapter. Adapters
 * translate their ORM's events into these calls; the policy is here:
 *
 * - a name a write makes a row hold is referenced in the write's own transaction (its ledger row
 *   stays locked until commit). Where no statement can join the transaction (a Prisma batch),
 *   it is claimed until the grace period is over instead;
 * - a name a write makes a row stop holding is released: inside a transaction it waits in the
 *   transaction's `TransactionFiles` and is written, with the others, just before the
 *   transaction (or a savepoint) commits, a few multi-row INSERTs instead of one per row; a
 *   rollback drops it. Outside a transaction the change is already committed and the release is
 *   written at once;
 * - uploads a transaction's writes took are remembered: if it rolls back (or a savepoint inside
 *   it did), each gets a claim again, so the sweeper deletes it once the grace period is over and
 *   a retry can still use it (on SQLite a claim made inside the transaction rolled back with it);
 * - after the outermost commit that released files, the sweeper is nudged. Commit never waits
 *   for the storage.
 */
import type { FileLedger, LedgerFile } from './file-ledger';
import type { SqlSession } from './sql';

type ReleaseReason = 'removed' | 'replaced';
type Releases = Record<ReleaseReason, LedgerFile[]>;

/** One open transaction, or one savepoint inside it (`parent`), as the tracker sees it. */
export class TransactionFiles {
  readonly parent: TransactionFiles | undefined;
  private releases: Releases = { removed: [], replaced: [] };
  /** @internal */
  readonly uploads: LedgerFile[] = [];
  /** @internal A savepoint inside it rolled back: uploads it held may have lost their claims. */
  lostSavepoint = false;
  /** @internal Whether it released files (once committed, the sweeper has work). */
  releasedFiles = false;

  constructor(parent?: TransactionFiles) {
    this.parent = parent;
  }

  /** @internal */
  keep(files: readonly LedgerFile[], reason: ReleaseReason): void {
    this.releases[reason].push(...files);
    this.releasedFiles = true;
  }

  /** @internal The releases not written yet, handed over once. */
  takeReleases(): Releases {
    const releases = this.releases;
    this.releases = { removed: [], replaced: [] };
    return releases;
  }
}

export interface FileChangeTrackerOptions {
  ledger: FileLedger;
  /** The sweeper has work: released files were committed. */
  nudge(): void;
}

export class FileChangeTracker {
  private readonly ledger: FileLedger;
  private readonly nudge: () => void;

  constructor(options: FileChangeTrackerOptions) {
    this.ledger = options.ledger;
    this.nudge = options.nudge;
  }

  /** A transaction starts, or a savepoint inside `parent`. */
  begin(parent?: TransactionFiles): TransactionFiles {
    return new TransactionFiles(parent);
  }

  /**
   * Rows of a write now name `files`. `session` is the write's transaction; undefined where no
   * statement can join it (a batch): the files are then claimed until the grace period is over.
   * Throws `FileDeletedError` for a file the sweeper already condemned.
   */
  async reference(session: SqlSession | undefined, files: readonly LedgerFile[]): Promise<void> {
    if (files.length === 0) return;
    if (session) await this.ledger.reference(session, files);
    else await this.ledger.reference(this.ledger.database.autocommit, files, { claimUntil: this.ledger.clock() + this.ledger.gracePeriod });
  }

  /**
   * Rows of a write stopped naming `files`. Inside `transaction` they are written by `flush`;
   * without one the write already committed, so they are written through `session` now.
   */
  async release(transaction: TransactionFiles | undefined, session: SqlSession, files: readonly LedgerFile[], reason: ReleaseReason): Promise<void> {
    if (files.length === 0) return;
    if (transaction) {
      transaction.keep(files, reason);
      return;
    }
    await this.ledger.release(session, files, reason);
    this.nudge();
  }

  /** A write in `transaction` took an upload: if the transaction rolls back, its claim is made again. */
  uploaded(transaction: TransactionFiles, file: LedgerFile): void {
    transaction.uploads.push(file);
  }

  /**
   * Write what `transaction` released so far through `session`: just before it (or a savepoint)
   * commits, before a savepoint starts inside it, or, for a batch, right after it committed.
   */
  async flush(transaction: TransactionFiles, session: SqlSession): Promise<void> {
    const releases = transaction.takeReleases();
    for (const reason of ['removed', 'replaced'] as const) {
      if (releases[reason].length > 0) await this.ledger.release(session, releases[reason], reason);
    }
  }

  /**
   * `transaction` ended. A savepoint hands its uploads (and anything not flushed) to its parent;
   * the outermost transaction nudges the sweeper after a commit that released files, and makes
   * the claims of its uploads again after a rollback.
   */
  async end(transaction: TransactionFiles, committed: boolean): Promise<void> {
    const { parent } = transaction;
    if (parent) {
      parent.uploads.push(...transaction.uploads);
      if (committed) {
        const releases = transaction.takeReleases();
        for (const reason of ['removed', 'replaced'] as const) if (releases[reason].length > 0) parent.keep(releases[reason], reason);
        parent.releasedFiles ||= transaction.releasedFiles;
        parent.lostSavepoint ||= transaction.lostSavepoint;
      } else {
        parent.lostSavepoint = true;
      }
      return;
    }
    if (!committed || transaction.lostSavepoint) await this.reclaim(transaction.uploads);
    if (committed && transaction.releasedFiles) this.nudge();
  }

  /**
   * A savepoint inside `transaction` rolled back that has no level of its own (the adapter saw
   * the transaction only after the savepoint began): the releases kept since then go with it, and
   * the transaction's uploads get their claims again when it ends.
   */
  savepointRolledBack(transaction: TransactionFiles): void {
    transaction.takeReleases();
    transaction.lostSavepoint = true;
  }

  /** Uploads whose rows did not commit: each keeps (or gets again) a claim that expires after the grace period. */
  private async reclaim(uploads: readonly LedgerFile[]): Promise<void> {
    if (uploads.length === 0) return;
    try {
      await this.ledger.abandon(uploads, { claimUntil: this.ledger.clock() + this.ledger.gracePeriod });
    } catch {
      // Only SQLite lost its claims with the rollback; elsewhere they stand and expire as usual.
    }
  }
}
