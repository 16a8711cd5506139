/**
 * The deletion policy every ORM adapter shares. Adapters report which files a database change
 * may have orphaned (a removed row's files, a replaced file, an upload whose transaction rolled
 * back); the core decides: never a field's default file, never a name that any row still
 * references in a column using the same storage, and only once the change is committed.
 *
 * Adapters supply the queries (`ReferenceChecker`) and call `schedule` after commit.
 */
import type { FileFieldDefinition } from './field';
import type { Storage } from './storage';

/** "Which of these names does any row still reference?", answered by the adapter's queries. */
export interface ReferenceChecker {
  /**
   * The subset of `names` stored in any column (of any model) whose field uses `storage`.
   * Called with batches; implementations should use one indexed `IN (...)` query per column.
   */
  referencedNames(storage: Storage, names: readonly string[]): Promise<Set<string>>;
}

/** A file a database change may have orphaned. */
export interface DeletionCandidate {
  field: FileFieldDefinition;
  name: string | null | undefined;
}

export interface DeletionOutcome {
  deleted: string[];
  kept: string[];
}

export type DeletionErrorHandler = (error: unknown, context: { storage: Storage; names: string[] }) => void;

interface Request {
  names: Set<string>;
  checker: ReferenceChecker;
  resolve: (outcome: DeletionOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs deletions after commit, per storage, in batches. Requests that arrive while a batch is
 * running wait for the next batch, whose reference check starts after they arrived: so a file
 * shared by two rows removed in parallel is checked after both commits and deleted exactly once.
 */
export class FileDeletionScheduler {
  private readonly queues = new Map<Storage, Request[]>();
  private readonly running = new Map<Storage, Promise<void>>();
  private readonly onError: DeletionErrorHandler;

  constructor(options: { onError?: DeletionErrorHandler } = {}) {
    this.onError =
      options.onError ??
      ((error, { names }) => {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        console.warn(`filefield: could not delete ${names.length} file(s) after commit (${names.join(', ')}): ${reason}`);
      });
  }

  /** Group candidates by storage, dropping empty names and default files. */
  static plan(candidates: Iterable<DeletionCandidate>): Map<Storage, Set<string>> {
    const byStorage = new Map<Storage, Set<string>>();
    for (const { field, name } of candidates) {
      if (name == null || name === '' || field.isDefault(name)) continue;
      const storage = field.storage;
      let names = byStorage.get(storage);
      if (!names) byStorage.set(storage, (names = new Set()));
      names.add(name);
    }
    return byStorage;
  }

  /**
   * Delete the candidates nobody references any more. Call only after the database change
   * committed. Resolves when done; failures go to `onError` (a commit must not fail because a
   * storage hiccupped) and the promise still resolves.
   */
  async schedule(candidates: Iterable<DeletionCandidate>, checker: ReferenceChecker): Promise<DeletionOutcome> {
    const outcome: DeletionOutcome = { deleted: [], kept: [] };
    const planned = FileDeletionScheduler.plan(candidates);
    const results = await Promise.all(
      [...planned].map(([storage, names]) =>
        this.enqueue(storage, names, checker).catch((error: unknown) => {
          this.onError(error, { storage, names: [...names] });
          return { deleted: [], kept: [] } as DeletionOutcome;
        }),
      ),
    );
    for (const result of results) {
      outcome.deleted.push(...result.deleted);
      outcome.kept.push(...result.kept);
    }
    return outcome;
  }

  /** Resolves once nothing is queued or running (tests and graceful shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private enqueue(storage: Storage, names: Set<string>, checker: ReferenceChecker): Promise<DeletionOutcome> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(storage) ?? [];
      queue.push({ names, checker, resolve, reject });
      this.queues.set(storage, queue);
      if (!this.running.has(storage)) {
        const worker = this.drain(storage).finally(() => this.running.delete(storage));
        this.running.set(storage, worker);
      }
    });
  }

  private async drain(storage: Storage): Promise<void> {
    for (;;) {
      const batch = this.queues.get(storage);
      if (!batch || batch.length === 0) return;
      this.queues.delete(storage);
      const byChecker = new Map<ReferenceChecker, Request[]>();
      for (const request of batch) byChecker.set(request.checker, [...(byChecker.get(request.checker) ?? []), request]);
      for (const [checker, requests] of byChecker) await this.runBatch(storage, checker, requests);
    }
  }

  private async runBatch(storage: Storage, checker: ReferenceChecker, requests: Request[]): Promise<void> {
    const names = new Set<string>();
    for (const request of requests) for (const name of request.names) names.add(name);
    try {
      const referenced = await checker.referencedNames(storage, [...names]);
      const orphaned = [...names].filter((name) => !referenced.has(name));
      const failures: unknown[] = [];
      await Promise.all(orphaned.map((name) => storage.delete(name).catch((error: unknown) => failures.push(error))));
      if (failures.length > 0) throw failures[0];
      for (const request of requests) {
        const mine = [...request.names];
        request.resolve({
          deleted: mine.filter((name) => !referenced.has(name)),
          kept: mine.filter((name) => referenced.has(name)),
        });
      }
    } catch (error) {
      for (const request of requests) request.reject(error);
    }
  }
}

/**
 * The file changes of one transaction: files to consider for deletion on commit, and files
 * uploaded during it, to consider for deletion on rollback (their row never committed).
 */
export class PendingFileChanges {
  private readonly removed: DeletionCandidate[] = [];
  private readonly uploaded: DeletionCandidate[] = [];

  /** A row removal or a replaced file: delete after commit (if unreferenced). */
  deleteOnCommit(candidate: DeletionCandidate): void {
    this.removed.push(candidate);
  }

  /** A file uploaded while the transaction is open: delete after rollback (if unreferenced). */
  deleteOnRollback(candidate: DeletionCandidate): void {
    this.uploaded.push(candidate);
  }

  get isEmpty(): boolean {
    return this.removed.length === 0 && this.uploaded.length === 0;
  }

  committed(scheduler: FileDeletionScheduler, checker: ReferenceChecker): Promise<DeletionOutcome> {
    this.take(this.uploaded);
    return scheduler.schedule(this.take(this.removed), checker);
  }

  rolledBack(scheduler: FileDeletionScheduler, checker: ReferenceChecker): Promise<DeletionOutcome> {
    this.take(this.removed);
    return scheduler.schedule(this.take(this.uploaded), checker);
  }

  private take(list: DeletionCandidate[]): DeletionCandidate[] {
    return list.splice(0, list.length);
  }
}
