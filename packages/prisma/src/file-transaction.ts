/**
 * Which transaction a query runs in, and what happens to its file changes when it ends.
 *
 * Prisma has no commit hook, so the extension replaces `$transaction`: it runs the original
 * with a `FileTransaction` in an AsyncLocalStorage scope, and when the original resolves (the
 * commit succeeded) or rejects (rolled back), it hands the collected files to the core's
 * `PendingFileChanges`. Query callbacks find the scope through AsyncLocalStorage and confirm
 * with Prisma's internal request parameters that the query really is part of a transaction
 * (a query on the outer client inside a `$transaction` callback autocommits).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type DeletionCandidate,
  type FileDeletionScheduler,
  PendingFileChanges,
  type ReferenceChecker,
} from '@filefield/core';

export class FileTransaction {
  /** Files a committed change may have orphaned: removed rows' files, replaced names. */
  readonly removed: DeletionCandidate[] = [];
  /** Files uploaded during the transaction: orphans if it rolls back. */
  readonly uploaded: DeletionCandidate[] = [];

  /** `client` is the interactive transaction's client; undefined for a batch `$transaction([...])`. */
  constructor(readonly client: object | undefined) {}

  /** A nested transaction (a savepoint) committed: its changes become the outer transaction's. */
  adoptCommitted(child: FileTransaction): void {
    this.removed.push(...child.removed);
    this.uploaded.push(...child.uploaded);
  }

  /**
   * A nested transaction rolled back to its savepoint: its removals never happened, and its
   * uploads are orphans whatever the outer transaction does, so they are candidates either way
   * (the reference check after the outer transaction keeps any that a row still names).
   */
  adoptRolledBack(child: FileTransaction): void {
    this.removed.push(...child.uploaded);
    this.uploaded.push(...child.uploaded);
  }

  settle(outcome: 'committed' | 'rolledBack', scheduler: FileDeletionScheduler, checker: ReferenceChecker): Promise<unknown> {
    const changes = new PendingFileChanges();
    for (const candidate of this.removed) changes.deleteOnCommit(candidate);
    for (const candidate of this.uploaded) changes.deleteOnRollback(candidate);
    return outcome === 'committed' ? changes.committed(scheduler, checker) : changes.rolledBack(scheduler, checker);
  }
}

/** Where a write's file deletions go. */
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

  constructor(
    private readonly scheduler: FileDeletionScheduler,
    private readonly checker: ReferenceChecker,
  ) {}

  /** The transaction the current async context runs in, if it was started by the extension. */
  get current(): FileTransaction | undefined {
    return this.storage.getStore();
  }

  /** The interactive transaction's client for reads that must see the transaction's own writes. */
  get currentClient(): object | undefined {
    return this.storage.getStore()?.client;
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
          // Awaited inside the scope: a callback may return a lazy PrismaPromise (\`tx => tx.a.delete(...)\`),
          // which only runs when awaited, and must run where the scope is visible.
          const scope = transaction;
          return this.storage.run(scope, async () => await fn(tx));
        },
        options,
      );
    } catch (error) {
      if (transaction) await this.finish(transaction, parent, 'rolledBack');
      throw error;
    }
    if (transaction) await this.finish(transaction, parent, 'committed');
    return result;
  }

  private async batch(original: TransactionFn, client: unknown, promises: unknown, options: unknown): Promise<unknown> {
    const transaction = new FileTransaction(undefined);
    let result: unknown;
    try {
      result = await this.storage.run(transaction, () => original.call(client, promises, options));
    } catch (error) {
      await transaction.settle('rolledBack', this.scheduler, this.checker);
      throw error;
    }
    await transaction.settle('committed', this.scheduler, this.checker);
    return result;
  }

  private async finish(transaction: FileTransaction, parent: FileTransaction | undefined, outcome: 'committed' | 'rolledBack'): Promise<void> {
    if (!parent) {
      await transaction.settle(outcome, this.scheduler, this.checker);
    } else if (outcome === 'committed') {
      parent.adoptCommitted(transaction);
    } else {
      parent.adoptRolledBack(transaction);
    }
  }
}
