/**
 * The sweeper: deletes the files no row names any more, from the ledger's records, race-free
 * against writers in open transactions and against other sweepers (see README "File lifecycle").
 *
 * One pass over a batch of due work (tasks, expired upload claims, expired leases):
 *  1. lock the files' ledger rows that nobody holds (`FOR UPDATE SKIP LOCKED`) and mark them
 *     'checking' under this pass's lease; commit;
 *  2. ask every reference source whether a committed row names them (no transaction held);
 *  3. lock again: a row still 'checking' under this lease had no writer meanwhile (a writer that
 *     names the file turns it back to 'present', or holds its lock); unreferenced ones become
 *     'deleting' and their tasks are done; commit;
 *  4. delete those objects (`deleteMany`, bounded concurrency, a timeout);
 *  5. record the outcome: a tombstone for each deleted file, a retry with backoff for failures.
 * Writers refuse a file once it is 'deleting', so no committed row ever names a deleted object.
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import { StorageUnavailableError } from '../errors';
import type { Storage } from '../storage';
import type { FileLedger } from './file-ledger';
import { fileReferences, type ReferenceSources } from './reference-sources';
import type { SqlRow } from './sql';

export interface FileSweeperOptions {
  /** Where to ask who still names a file (default: every installation in the process). */
  sources?: ReferenceSources;
  /** Files per pass (default 1000: one S3 DeleteObjects request). */
  batchSize?: number;
  /** How long a pass may hold files in 'checking' or 'deleting' before another sweeper takes over (default 5 min). */
  leaseDuration?: number;
  /** The longest a storage's deleteMany may take before it counts as failed (default 60 s). */
  deleteTimeout?: number;
  /** How long a deleted name stays refused, so a stale copy of it fails instead of dangling (default 7 days). */
  tombstoneRetention?: number;
  /** Backoff between failed deletions of one file: doubling from `initialDelay` up to `maxDelay`, with jitter. */
  retry?: { initialDelay?: number; maxDelay?: number };
  /**
   * Storage deletions in flight at once (default 4): one per storage a batch touches, and a
   * batch's deletion overlaps the next batches' checks, up to this many batches ahead.
   */
  concurrency?: number;
  /** How long the sweeper waits for a writer's lock when it creates a ledger row (default 1 s). */
  lockTimeout?: number;
  /** Background passes report failures here (default: a console.warn per distinct message). */
  onError?: (error: unknown) => void;
}

export interface SweepReport {
  /** Files checked against the reference sources. */
  checked: number;
  /** Objects deleted (or found already gone). */
  deleted: number;
  /** Files still named by a row (or a default), kept. */
  kept: number;
  /** Deletions that failed; each is retried after a backoff. */
  failed: number;
  /** Files left for a later pass: a write holds them, an upload still claims them, or another sweeper has them. */
  deferred: number;
  passes: number;
}

interface WorkItem {
  key: string;
  storageId: string;
  name: string;
  taskIds: string[];
}

type PassCounts = Omit<SweepReport, 'passes'>;

/** Steps 1 to 3 of a pass, done: what step 4 deletes, under which lease. */
interface DecidedPass {
  counts: PassCounts;
  /** Whether the pass took a full batch (more may be due). */
  full: boolean;
  condemned: WorkItem[];
  /** The storages the pass decided for, by id. */
  storages: Map<string, Storage>;
  token: string;
  /** Earlier failed attempts per file, for the backoff. */
  attempts: Map<string, number>;
  now: number;
}

const MINUTE = 60_000;
/** How often step 3 asks again for rows it found locked, and how long it waits in between. */
const DECIDE_ROUNDS = 3;
const DECIDE_RETRY_DELAY = 20;
const DAY = 24 * 60 * MINUTE;

export class FileSweeper {
  readonly ledger: FileLedger;
  private readonly sources: ReferenceSources;
  private readonly batchSize: number;
  private readonly leaseDuration: number;
  private readonly deleteTimeout: number;
  private readonly tombstoneRetention: number;
  private readonly initialDelay: number;
  private readonly maxDelay: number;
  private readonly concurrency: number;
  private readonly lockTimeout: number;
  private readonly onError: (error: unknown) => void;
  private running: Promise<unknown> | undefined;
  private background: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private interval: number | undefined;
  private stopped = false;
  private again = false;
  private soon = false;

  constructor(ledger: FileLedger, options: FileSweeperOptions = {}) {
    this.ledger = ledger;
    this.sources = options.sources ?? fileReferences;
    this.batchSize = positive(options.batchSize ?? 1000, 'batchSize');
    this.leaseDuration = positive(options.leaseDuration ?? 5 * MINUTE, 'leaseDuration');
    this.deleteTimeout = positive(options.deleteTimeout ?? MINUTE, 'deleteTimeout');
    this.tombstoneRetention = positive(options.tombstoneRetention ?? 7 * DAY, 'tombstoneRetention');
    this.initialDelay = positive(options.retry?.initialDelay ?? 1000, 'retry.initialDelay');
    this.maxDelay = positive(options.retry?.maxDelay ?? 60 * MINUTE, 'retry.maxDelay');
    this.concurrency = positive(options.concurrency ?? 4, 'concurrency');
    this.lockTimeout = positive(options.lockTimeout ?? 1000, 'lockTimeout');
    this.onError = options.onError ?? warnOncePerMessage();
  }

  /**
   * Run passes until nothing is due (or only work that must wait). `now` overrides the clock,
   * e.g. to sweep as if the grace period were over. For jobs, the CLI and tests.
   */
  async sweep(options: { now?: number; maxPasses?: number } = {}): Promise<SweepReport> {
    const report: SweepReport = { checked: 0, deleted: 0, kept: 0, failed: 0, deferred: 0, passes: 0 };
    const add = (counts: PassCounts) => {
      report.checked += counts.checked;
      report.deleted += counts.deleted;
      report.kept += counts.kept;
      report.failed += counts.failed;
      report.deferred += counts.deferred;
    };
    const maxPasses = options.maxPasses ?? 1000;
    // A batch's deletion (a storage request, often the slowest step) runs while the next pass
    // decides: its files are leased as 'deleting', so no pass takes them again meanwhile.
    const deleting = new Set<Promise<void>>();
    const limit = pLimit(this.concurrency);
    const errors: unknown[] = [];
    try {
      while (report.passes < maxPasses && errors.length === 0) {
        const now = options.now ?? this.ledger.clock();
        const pass = await this.exclusive(() => this.decide(now));
        report.passes += 1;
        add(pass.counts);
        if (pass.condemned.length > 0) {
          const deletion: Promise<void> = this.deleteCondemned(pass, limit)
            .then(add, (error: unknown) => {
              errors.push(error);
            })
            .finally(() => deleting.delete(deletion));
          deleting.add(deletion);
          while (deleting.size >= this.concurrency) await Promise.race(deleting);
        }
        // A pass that settled nothing would only find the same deferred work again.
        if (!pass.full || pass.counts.kept + pass.condemned.length === 0) break;
      }
    } finally {
      await Promise.all(deleting);
    }
    if (errors.length > 0) throw errors[0];
    return report;
  }

  /** Sweep in the background every `interval` ms (timers do not keep the process alive). */
  start(interval: number): void {
    this.interval = positive(interval, 'interval');
    this.stopped = false;
    this.schedule(this.interval);
  }

  /** A commit just released files: sweep soon instead of at the next interval. */
  nudge(): void {
    if (this.stopped) return;
    if (this.background) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** Resolves once no background pass is running or due at once (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.background || this.soon) await (this.background ?? new Promise((resolve) => setImmediate(resolve)));
  }

  /** Stop the background passes; resolves once the running one finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.again = false;
    this.soon = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.background;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.soon = delay === 0;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.soon = false;
      this.again = false;
      this.background = this.sweep()
        .then(
          () => undefined,
          (error: unknown) => this.onError(error),
        )
        .finally(() => {
          this.background = undefined;
          if (this.again) this.schedule(0);
          else if (this.interval !== undefined) this.schedule(this.interval);
        });
    }, delay);
    this.timer.unref();
  }

  /** One pass at a time per sweeper (other sweepers coordinate through the database). */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => undefined);
    const run = work();
    this.running = run;
    try {
      return await run;
    } finally {
      if (this.running === run) this.running = undefined;
    }
  }

  private async decide(now: number): Promise<DecidedPass> {
    const result: PassCounts = { checked: 0, deleted: 0, kept: 0, failed: 0, deferred: 0 };
    const storages = this.sources.storagesById();
    const pass: DecidedPass = { counts: result, full: false, condemned: [], storages, token: '', attempts: new Map(), now };
    if (storages.size === 0) return pass;
    const { ledger } = this;
    const sql = ledger.statements;
    const { autocommit } = ledger.database;
    const ids = [...storages.keys()];

    await ledger.run(autocommit, sql.purgeTombstones(now, this.batchSize));
    const work = await this.dueWork(ids, now);
    pass.full = work.size >= this.batchSize;
    if (work.size === 0) return pass;

    await this.ensureRows([...work.values()].filter((item) => item.taskIds.length > 0), now);

    // 1. Take what no one holds, under this pass's lease.
    const token = (pass.token = randomUUID());
    const taken = await ledger.database.transaction(async (session) => {
      const locked = await ledger.rows(session, sql.lockRows([...work.keys()], now));
      const take: string[] = [];
      const mootTasks: string[] = [];
      const claimed = new Map<number, string[]>();
      const states = new Map<string, string>();
      for (const row of locked) {
        const key = String(row.file_key);
        const state = String(row.state);
        const item = work.get(key)!;
        if (state === 'deleted') {
          mootTasks.push(...item.taskIds);
        } else if (state === 'present') {
          const claimUntil = optionalNumber(row.claim_expires_at);
          if (claimUntil !== undefined && claimUntil > now) {
            claimed.set(claimUntil, [...(claimed.get(claimUntil) ?? []), key]);
          } else {
            take.push(key);
            states.set(key, 'checking');
          }
        } else if ((optionalNumber(row.lease_until) ?? 0) <= now) {
          take.push(key);
          states.set(key, state === 'deleting' ? 'deleting' : 'checking');
        }
      }
      if (take.length > 0) await ledger.run(session, sql.lease(take, token, now + this.leaseDuration, now));
      if (mootTasks.length > 0) await ledger.run(session, sql.deleteTasks(mootTasks));
      for (const [until, keys] of claimed) await ledger.run(session, sql.postponeTasks(keys, until));
      return states;
    });
    result.deferred += work.size - taken.size;
    if (taken.size === 0) return pass;

    // 2. Who still names them? Committed rows only; writers that are still open hold a lock or reset the state.
    const toCheck = [...taken].filter(([, state]) => state === 'checking').map(([key]) => work.get(key)!);
    const referenced = new Set<string>();
    for (const [storageId, items] of groupBy(toCheck, (item) => item.storageId)) {
      const names = await this.sources.referencedNames(storageId, items.map((item) => item.name));
      for (const item of items) if (names.has(item.name)) referenced.add(item.key);
    }
    result.checked += toCheck.length;

    // 3. Decide, under the lease: only rows no writer touched since step 1. A row locked right
    // now is asked for again a few times: another sweeper's step 1 holds rows for a moment,
    // a writer for its whole transaction (those wait for the lease to run out).
    const { attempts, condemned } = pass;
    let pending = [...taken.keys()];
    for (let round = 0; round < DECIDE_ROUNDS && pending.length > 0; round += 1) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, DECIDE_RETRY_DELAY));
      const decided = await this.settle(pending, token, referenced, attempts, work, now);
      condemned.push(...decided.condemned);
      result.kept += decided.kept;
      pending = decided.skipped;
    }
    result.deferred += pending.length;

    return pass;
  }

  /** Steps 4 and 5 for a decided pass: delete, then record each outcome. */
  private async deleteCondemned({ condemned, storages, token, attempts, now }: DecidedPass, limit: pLimit.Limit): Promise<PassCounts> {
    const result: PassCounts = { checked: 0, deleted: 0, kept: 0, failed: 0, deferred: 0 };
    const { ledger } = this;
    const sql = ledger.statements;
    const { autocommit } = ledger.database;
    await Promise.all(
      [...groupBy(condemned, (item) => item.storageId)].map(([storageId, items]) =>
        limit(async () => {
          const outcome = await this.deleteObjects(storages.get(storageId)!, items);
          if (outcome.deleted.length > 0) {
            const keys = outcome.deleted.map((item) => item.key);
            await ledger.run(autocommit, sql.markDeleted(keys, token, now + this.tombstoneRetention, now));
            await ledger.run(autocommit, sql.deleteTasksOf(keys));
          }
          for (const { item, error } of outcome.failed) {
            const retryAt = now + this.backoff(attempts.get(item.key) ?? 0);
            await ledger.run(autocommit, sql.markFailed(item.key, token, retryAt, describeError(error), now));
          }
          result.deleted += outcome.deleted.length;
          result.failed += outcome.failed.length;
        }),
      ),
    );
    return result;
  }

  /** Step 3 for `keys`: condemn the unreferenced, keep the referenced, settle their tasks; returns the keys found locked. */
  private async settle(
    keys: string[],
    token: string,
    referenced: Set<string>,
    attempts: Map<string, number>,
    work: Map<string, WorkItem>,
    now: number,
  ): Promise<{ condemned: WorkItem[]; kept: number; skipped: string[] }> {
    const { ledger } = this;
    const sql = ledger.statements;
    return ledger.database.transaction(async (session) => {
      const still = await ledger.rows(session, sql.leasedRows(keys, token));
      const seen = new Set<string>();
      const unreferenced: string[] = [];
      const keep: string[] = [];
      const doomed: string[] = [];
      for (const row of still) {
        const key = String(row.file_key);
        seen.add(key);
        attempts.set(key, Number(row.attempts ?? 0));
        if (row.state === 'deleting') doomed.push(key);
        else if (row.state !== 'checking') continue;
        else if (referenced.has(key)) keep.push(key);
        else unreferenced.push(key);
      }
      if (unreferenced.length > 0) await ledger.run(session, sql.markDeleting(unreferenced, token, now + this.leaseDuration, now));
      if (keep.length > 0) await ledger.run(session, sql.markPresent(keep, now));
      const settledTasks = [...keep, ...unreferenced, ...doomed].flatMap((key) => work.get(key)!.taskIds);
      if (settledTasks.length > 0) await ledger.run(session, sql.deleteTasks(settledTasks));
      return { condemned: [...unreferenced, ...doomed].map((key) => work.get(key)!), kept: keep.length, skipped: keys.filter((key) => !seen.has(key)) };
    });
  }

  /** Up to a batch of due work, by file: tasks first, then expired claims and leases. */
  private async dueWork(storageIds: string[], now: number): Promise<Map<string, WorkItem>> {
    const { ledger } = this;
    const sql = ledger.statements;
    const session = ledger.database.autocommit;
    const work = new Map<string, WorkItem>();
    const add = (row: SqlRow, taskId?: string) => {
      const key = String(row.file_key);
      let item = work.get(key);
      if (!item) {
        if (work.size >= this.batchSize) return;
        work.set(key, (item = { key, storageId: String(row.storage_id), name: String(row.name), taskIds: [] }));
      }
      if (taskId !== undefined) item.taskIds.push(taskId);
    };
    for (const row of await ledger.rows(session, sql.dueTasks(storageIds, now, this.batchSize))) add(row, String(row.id));
    for (const query of [sql.expiredLeases(storageIds, now, this.batchSize), sql.expiredClaims(storageIds, now, this.batchSize)]) {
      if (work.size >= this.batchSize) break;
      for (const row of await ledger.rows(session, query)) add(row);
    }
    return work;
  }

  /**
   * Tasks name files that may have no ledger row yet (written before filefield kept one): create
   * them, waiting at most `lockTimeout` for a writer that is creating the same row. What cannot
   * be created now is deferred (step 1 finds no row to lock).
   */
  private async ensureRows(items: WorkItem[], now: number): Promise<void> {
    if (items.length === 0) return;
    const { ledger } = this;
    const sql = ledger.statements;
    const existing = await ledger.rows(ledger.database.autocommit, sql.existingKeys(items.map((item) => item.key)));
    const present = new Set(existing.map((row) => String(row.file_key)));
    const rows = items.filter((item) => !present.has(item.key)).map(({ key, storageId, name }) => ({ key, storageId, name }));
    if (rows.length === 0) return;
    try {
      await ledger.database.transaction(async (session) => {
        const timeout = sql.lockTimeout(this.lockTimeout);
        const reset = sql.resetLockTimeout();
        if (timeout) await ledger.run(session, timeout);
        try {
          await ledger.run(session, sql.ensureRows(rows, now));
        } finally {
          if (reset) await ledger.run(session, reset);
        }
      });
    } catch (error) {
      this.onError(error);
    }
  }

  private async deleteObjects(storage: Storage, items: WorkItem[]): Promise<{ deleted: WorkItem[]; failed: Array<{ item: WorkItem; error: unknown }> }> {
    const byName = new Map(items.map((item) => [item.name, item]));
    let timer: NodeJS.Timeout | undefined;
    // Aborted, not just abandoned: a delete left running would go on retrying behind the sweeper's back.
    const abort = new AbortController();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StorageUnavailableError(`The storage did not finish deleting ${items.length} file(s) within ${this.deleteTimeout} ms.`);
        abort.abort(error);
        reject(error);
      }, this.deleteTimeout);
      timer.unref();
    });
    try {
      const result = await Promise.race([storage.deleteMany(byName.keys(), { signal: abort.signal }), timeout]);
      return {
        deleted: result.deleted.map((name) => byName.get(name)!),
        failed: result.failed.map(({ name, error }) => ({ item: byName.get(name)!, error })),
      };
    } catch (error) {
      return { deleted: [], failed: items.map((item) => ({ item, error })) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Doubling delay with full jitter in its upper half, capped. */
  private backoff(attempts: number): number {
    const base = Math.min(this.maxDelay, this.initialDelay * 2 ** Math.min(attempts, 30));
    return Math.round(base / 2 + Math.random() * (base / 2));
  }
}

function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`FileSweeper: ${name} must be a positive number.`);
  return value;
}

/** A short description for the ledger's last_error column (filefield's errors never carry secrets). */
function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 1000);
}

function warnOncePerMessage(): (error: unknown) => void {
  const seen = new Set<string>();
  return (error) => {
    const text = describeError(error);
    if (seen.has(text)) return;
    seen.add(text);
    console.warn(`filefield: the sweeper could not finish a pass (it retries later): ${text}`);
  };
}
