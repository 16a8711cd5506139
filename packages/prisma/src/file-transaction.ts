/**
 * Which transaction a query runs in, and what happens to its files when it ends.
 *
 * Prisma has no commit hook, so the extension replaces `$transaction`: it runs the original with
 * a `FileTransaction` in an AsyncLocalStorage scope. Writes inside an interactive transaction run
 * their ledger statements on its client (they commit or roll back with it); when it ends, the
 * sweeper is nudged (commit) or the uploads it made get their claims back (rollback; needed on
 * SQLite, where a claim made meanwhile shared the one connection and rolled back too). A batch
 * `$transaction([...])` cannot take extra statements: its releases are written right after it
 * commits. Query callbacks find the scope through AsyncLocalStorage and confirm with Prisma's
 * internal request parameters that the query really is part of a transaction (a query on the
 * outer client inside a `$transaction` callback autocommits).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FileLifecycle, LedgerFile } from '@filefield/core';

export class FileTransaction {
  /** Batch transactions: files released by its writes, written to the ledger once it committed. */
  readonly released: LedgerFile[] = [];
  /** Uploads made while it was open, claimed again if it rolls back. */
  readonly uploads: LedgerFile[] = [];

  /** `client` is the interactive transaction's client; undefined for a batch `$transaction([...])`. */
  constructor(readonly client: object | undefined) {}

  /** A nested transaction (a savepoint) ended: its files are the outer transaction's now. */
  adopt(child: FileTransaction): void {
    this.released.push(...child.released);
    this.uploads.push(...child.uploads);
  }
}

/** Where a write's ledger statements go. */
export type WriteScope =
  | { kind: 'autocommit' }
  | { kind: 'transaction'; transaction: FileTransaction }
  /** In a transaction that was not started through the extended client's `$transaction`. */
  | { kind: 'untracked' };

/** The part of Prisma's internal request parameters that tells whether a query is in a transaction. */
interface InternalParams {
  transaction?: unknown;
}

type TransactionFn = (this: unknown, arg: unknown, options?: unknown) => Promise<unknown>;

export class TransactionTracker {
  private readonly storage = new AsyncLocalStorage<FileTransaction>();

  constructor(private readonly files: FileLifecycle) {}

  /** The transaction the current async context runs in, if it was started by the extension. */
  get current(): FileTransaction | undefined {
    return this.storage.getStore();
  }

  /**
   * Classify a query from its callback parameters. `__internalParams` is Prisma's (undocumented)
   * request record; when a future Prisma drops it, the AsyncLocalStorage scope alone decides.
   */
  scopeOf(params: { __internalParams?: InternalParams }): WriteScope {
    const transaction = this.storage.getStore();
    const internal = params.__internalParams;
    const inTransaction = internal && typeof internal === 'object' ? internal.transaction !== undefined : transaction !== undefined;
    if (!inTransaction) return { kind: 'autocommit' };
    return transaction ? { kind: 'transaction', transaction } : { kind: 'untracked' };
  }

  /** The replacement `$transaction`: `original` is the client's own, called on the same client. */
  wrap(original: TransactionFn): TransactionFn {
    const tracker = this;
    return function $transaction(this: unknown, arg: unknown, options?: unknown): Promise<unknown> {
      if (typeof arg === 'function') return tracker.interactive(original, this, arg as (tx: object) => unknown, options);
      return tracker.batch(original, this, arg, options);
    };
  }

  private async interactive(original: TransactionFn, client: unknown, fn: (tx: object) => unknown, options: unknown): Promise<unknown> {
    const outer = this.storage.getStore();
    // `tx.$transaction(...)` on the outer transaction's own client opens a nested one (a savepoint).
    const parent = outer !== undefined && outer.client === client ? outer : undefined;
    let transaction: FileTransaction | undefined;
    let result: unknown;
    try {
      result = await original.call(
        client,
        (tx: object) => {
          transaction = new FileTransaction(tx);
          // Awaited inside the scope: a callback may return a lazy PrismaPromise (`tx => tx.a.delete(...)`),
          // which only runs when awaited, and must run where the scope is visible.
          const scope = transaction;
          return this.storage.run(scope, async () => await fn(tx));
        },
        options,
      );
    } catch (error) {
      if (transaction) await this.finish(transaction, parent, false);
      throw error;
    }
    if (transaction) await this.finish(transaction, parent, true);
    return result;
  }

  private async batch(original: TransactionFn, client: unknown, promises: unknown, options: unknown): Promise<unknown> {
    const transaction = new FileTransaction(undefined);
    const result = await this.storage.run(transaction, () => original.call(client, promises, options));
    if (transaction.released.length > 0) {
      // Not crash-safe: a crash right here leaves these files to the orphan scan (see the README).
      await this.files.ledger.release(this.files.ledger.database.autocommit, transaction.released, 'removed');
      this.files.nudge();
    }
    return result;
  }

  private async finish(transaction: FileTransaction, parent: FileTransaction | undefined, committed: boolean): Promise<void> {
    if (parent) {
      parent.adopt(transaction);
      return;
    }
    const { ledger } = this.files;
    if (committed) {
      this.files.nudge();
    } else if (transaction.uploads.length > 0) {
      await ledger.abandon(transaction.uploads, { claimUntil: ledger.clock() + ledger.gracePeriod }).catch(() => undefined);
    }
  }
}
