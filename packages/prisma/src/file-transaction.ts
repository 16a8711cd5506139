/**
 * Which transaction a query runs in, and what happens to its files when it ends.
 *
 * Prisma has no commit hook, so the extension replaces `$transaction`: it runs the original with
 * a `FileTransaction` in an AsyncLocalStorage scope, and tells the core's change tracker
 * (file-changes.ts, where the policy lives) what happened. Writes inside an interactive
 * transaction reference their names on its client; their releases are written on it when the
 * callback returned, just before Prisma commits (a nested `tx.$transaction` is a savepoint: a
 * level of its own). A batch `$transaction([...])` cannot take extra statements: its releases are
 * written right after it commits. Query callbacks find the scope through AsyncLocalStorage and
 * confirm with Prisma's internal request parameters that the query really is part of a
 * transaction (a query on the outer client inside a `$transaction` callback autocommits).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FileChangeTracker, FileLifecycle, TransactionFiles } from '@filefield/core';
import { type RawClient, rawSession } from './ledger-database';

export class FileTransaction {
  /**
   * `client` is the interactive transaction's client; undefined for a batch `$transaction([...])`.
   * `files` is what the change tracker keeps for it.
   */
  constructor(
    readonly client: object | undefined,
    readonly files: TransactionFiles,
  ) {}
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
  private readonly changes: FileChangeTracker;

  constructor(private readonly files: FileLifecycle) {
    this.changes = files.changes;
  }

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
          const scope = new FileTransaction(tx, this.changes.begin(parent?.files));
          transaction = scope;
          // Awaited inside the scope: a callback may return a lazy PrismaPromise (`tx => tx.a.delete(...)`),
          // which only runs when awaited, and must run where the scope is visible.
          return this.storage.run(scope, async () => {
            const value = await fn(tx);
            // Still inside the transaction: its releases commit (or roll back) with it.
            await this.changes.flush(scope.files, rawSession(tx as RawClient));
            return value;
          });
        },
        options,
      );
    } catch (error) {
      if (transaction) await this.changes.end(transaction.files, false);
      throw error;
    }
    if (transaction) await this.changes.end(transaction.files, true);
    return result;
  }

  private async batch(original: TransactionFn, client: unknown, promises: unknown, options: unknown): Promise<unknown> {
    const transaction = new FileTransaction(undefined, this.changes.begin());
    let result: unknown;
    try {
      result = await this.storage.run(transaction, () => original.call(client, promises, options));
    } catch (error) {
      await this.changes.end(transaction.files, false);
      throw error;
    }
    // Not crash-safe: a crash right here leaves these files to the orphan scan (see the README).
    await this.changes.flush(transaction.files, this.files.ledger.database.autocommit);
    await this.changes.end(transaction.files, true);
    return result;
  }
}
