/**
 * The ORM-adapter conformance suite for the file lifecycle: every adapter runs this same suite,
 * on every database and storage it supports (as every driver runs `describeStorage`).
 *
 *   describeFileLifecycle('TypeORM [postgres] × filesystem', adapter, { storage: () => new FileSystemStorage(...) });
 *
 * The adapter builds a small model on fresh tables (`LifecycleAdapter.open`): a `Doc` with a file
 * field `file` (uploadTo 'docs') and `cover` (default 'defaults/cover.txt'), and an `Attachment`
 * with a file field `blob` whose storage is a second object built from the same configuration
 * (the same storage id). Each test names the case of the lifecycle issue it pins.
 */
import { FileDeletedError, SuspiciousFileOperation } from '../errors';
import { randomSuffix } from '../names';
import type { FileLedger } from '../lifecycle/file-ledger';
import { scanOrphans } from '../lifecycle/orphan-scan';
import { type ReferenceSource, ReferenceSources } from '../lifecycle/reference-sources';
import { FileSweeper, type FileSweeperOptions } from '../lifecycle/sweeper';
import type { DeleteManyResult, Storage } from '../storage';

/** An open transaction of the adapter (an EntityManager, a Prisma transaction client…), opaque to the suite. */
export type LifecycleTransaction = unknown;

export interface LifecycleFixture {
  /** The storage of Doc.file and Doc.cover. */
  storage: Storage;
  /** Another object for the same files (same id), used by Attachment.blob. */
  twin: Storage;
  /** The ledger's grace period for this world, in ms. */
  gracePeriod: number;
  /** The clock the world's ledger uses (tests move it). */
  clock: () => number;
  /** The reference-source registry the world registers with (one per world, so worlds stay apart). */
  references: ReferenceSources;
}

export interface LifecycleWorld {
  readonly ledger: FileLedger;
  /** Insert a Doc whose `file` column holds `file` (a copy of a stored name, or null); returns its id. */
  createDoc(file: string | null, tx?: LifecycleTransaction): Promise<number>;
  /** A new Doc whose file is uploaded with `doc.file.save(name, content)`, which also inserts the row. */
  uploadDoc(name: string, content: string, tx?: LifecycleTransaction): Promise<{ id: number; name: string }>;
  /** Load the Doc, then `doc.file.save(name, content)` (uploads and updates the row). */
  saveFile(id: number, name: string, content: string, tx?: LifecycleTransaction): Promise<string>;
  /** Load the Doc, assign a name (or null) to `file` and save it. */
  assignFile(id: number, name: string | null, tx?: LifecycleTransaction): Promise<void>;
  /** Load the Doc and call `doc[field].delete()`, which saves the row. */
  deleteFile(id: number, field: 'file' | 'cover', tx?: LifecycleTransaction): Promise<void>;
  /**
   * Load the Doc twice, as `a` and `b`. Through `a`, `file.save(name, content)`; then through the
   * stale `b`, `cover.delete()`, which saves `b`. Returns the name `a` stored.
   */
  staleWrite(id: number, name: string, content: string): Promise<string>;
  /** Set Doc `id`'s cover to null through an object the ORM did not load (TypeORM: `new Doc()` given the id; Prisma: an update of that column). */
  writeUnloaded(id: number): Promise<void>;
  /** Remove the Doc through the ORM. */
  removeDoc(id: number, tx?: LifecycleTransaction): Promise<void>;
  createAttachment(blob: string | null, tx?: LifecycleTransaction): Promise<number>;
  removeAttachment(id: number, tx?: LifecycleTransaction): Promise<void>;
  /** The Doc's stored names, read outside any transaction (null when the row is gone). */
  docFiles(id: number): Promise<{ file: string | null; cover: string | null } | null>;
  /** Run `work` in an interactive transaction on a connection of its own. */
  transaction<T>(work: (tx: LifecycleTransaction) => Promise<T>): Promise<T>;
  /** Delete the Doc row with SQL the ORM does not see (a bypass): its files are not released. */
  deleteDocBehindTheOrm(id: number): Promise<void>;
  close(): Promise<void>;
}

export interface CrashOptions {
  /**
   * 'upload': the child uploads a file for a new Doc (`doc.file.save(name, content, { save: false })`)
   * and is killed before any row names it. 'commit': it removes Doc `id`, commits, and is killed
   * before any sweep.
   */
  step: 'upload' | 'commit';
  id?: number;
}

export interface LifecycleAdapter {
  /** Whether two transactions can be open at once on separate connections (not TypeORM's or Prisma's SQLite). */
  readonly concurrentTransactions: boolean;
  open(fixture: LifecycleFixture): Promise<LifecycleWorld>;
  /**
   * Run a child process that opens the same world (database, storage configuration, grace
   * period), performs `step` and prints `READY <name>` (the uploaded or released file) on its own
   * line, then waits; the suite kills it with SIGKILL. Omit when the database cannot be shared
   * with another process.
   */
  crash?(fixture: LifecycleFixture, options: CrashOptions): Promise<{ name: string }>;
}

export interface LifecycleSuiteOptions {
  /** Builds the world's storage; called twice per world (the second is the twin). */
  storage: () => Storage | Promise<Storage>;
  /** Rounds of each forced interleaving (default 10). */
  rounds?: number;
  /** Per-test timeout in ms (default 120 s). */
  timeout?: number;
  /** Storage fault injection for the hung/failing storage tests (a proxy in front of an S3 server). */
  faults?: StorageFaults;
}

/** A proxy between a storage and its server. */
export interface StorageFaults {
  /** A storage (same id as `storage()`'s) that talks to the server through the proxy. */
  storage(): Storage | Promise<Storage>;
  /** Accept connections and forward nothing: every request hangs. */
  stall(): void;
  /** Refuse every connection. */
  refuse(): void;
  /** Forward again. */
  heal(): void;
}

const GRACE = 60_000;

/** Resolves for everyone once `parties` callers have arrived. */
export function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived += 1;
    if (arrived >= parties) release();
    return all;
  };
}

/** A promise with its resolve function, to hold a step until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * Whether `gate` opens within `ms`: a failsafe bound for an event that never comes when the code
 * under test is wrong, not a measurement (a slow machine only makes it come later).
 */
async function opensWithin(awaited: { promise: Promise<void> }, ms: number): Promise<boolean> {
  let failsafe: NodeJS.Timeout | undefined;
  const bound = new Promise<boolean>((resolve) => (failsafe = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([awaited.promise.then(() => true), bound]);
  } finally {
    clearTimeout(failsafe);
  }
}

/**
 * Records every name these storage objects deleted, and can hold their deletions at a gate
 * (wraps each object's deleteMany; the storage does the work).
 */
export function recordDeletions(...storages: Storage[]): { deleted: string[]; hold(): { reached: Promise<void>; release: () => void } } {
  const deleted: string[] = [];
  let held: { reached: () => void; released: Promise<void> } | undefined;
  for (const storage of storages) {
    const original = storage.deleteMany.bind(storage);
    storage.deleteMany = async (names: Iterable<string>): Promise<DeleteManyResult> => {
      if (held) {
        held.reached();
        await held.released;
      }
      const result = await original(names);
      deleted.push(...result.deleted);
      return result;
    };
  }
  return {
    deleted,
    hold() {
      const reached = gate();
      const released = gate();
      held = { reached: reached.open, released: released.promise };
      return {
        reached: reached.promise,
        release: () => {
          held = undefined;
          released.open();
        },
      };
    },
  };
}

class Rollback extends Error {}

export function describeFileLifecycle(label: string, adapter: LifecycleAdapter, options: LifecycleSuiteOptions): void {
  const rounds = options.rounds ?? 10;
  const timeout = options.timeout ?? 120_000;

  describe(`${label}: the file lifecycle`, () => {
    let world: LifecycleWorld;
    let fixture: LifecycleFixture;
    let now: number;
    let deleted: string[];
    let deletions: ReturnType<typeof recordDeletions>;
    let sweeper: FileSweeper;

    const sweep = (sweepOptions: { now?: number } = {}) => sweeper.sweep(sweepOptions);
    const exists = (name: string) => fixture.storage.exists(name);
    const content = (name: string) => `content of ${name} ${randomSuffix()}`;

    beforeAll(async () => {
      // The storage stamps files with the real time, which the orphan scan compares with the ledger's clock.
      now = Date.now();
      const storage = await options.storage();
      fixture = { storage, twin: await options.storage(), gracePeriod: GRACE, clock: () => now, references: new ReferenceSources() };
      deletions = recordDeletions(storage, fixture.twin);
      deleted = deletions.deleted;
      world = await adapter.open(fixture);
      sweeper = new FileSweeper(world.ledger, { sources: fixture.references, retry: { initialDelay: 1000, maxDelay: 4000 } });
      if (!(await storage.exists('defaults/cover.txt'))) await storage.save('defaults/cover.txt', 'the default cover');
    }, timeout);

    afterAll(async () => {
      await world?.close();
    }, timeout);

    beforeEach(() => {
      deleted.length = 0;
    });

    it('the seed scenario: an upload, a replaced file and a removed row; the default file stays', async () => {
      const { id, name } = await world.uploadDoc('django_test.txt', 'content');
      expect(name).toBe('docs/django_test.txt');
      expect((await world.docFiles(id))?.cover).toBe('defaults/cover.txt');
      const second = await world.saveFile(id, 'django_test.txt', 'more content');
      expect(second).toMatch(/^docs\/django_test_[A-Za-z0-9]{7}\.txt$/);
      expect(await exists(name)).toBe(true); // released, not yet swept
      await sweep();
      expect(await exists(name)).toBe(false);
      await world.removeDoc(id);
      await sweep();
      expect(await exists(second)).toBe(false);
      expect(await exists('defaults/cover.txt')).toBe(true);
      expect(deleted.sort()).toEqual([name, second].sort());
    }, timeout);

    it("saves through the adapter never replace another row's file, whatever the storage's fileOverwrite says [case 2]", async () => {
      const first = await world.uploadDoc('same-name.txt', 'first');
      const second = await world.uploadDoc('same-name.txt', 'second');
      expect(second.name).not.toBe(first.name);
      expect((await fixture.storage.open(first.name).read()).toString()).toBe('first');
      expect((await fixture.storage.open(second.name).read()).toString()).toBe('second');
    }, timeout);

    it('a name shared by two models (two storage objects, one storage id) is kept until its last row goes [case 5]', async () => {
      const { id, name } = await world.uploadDoc('shared.txt', content('shared'));
      const attachment = await world.createAttachment(name);
      await world.removeDoc(id);
      await sweep();
      expect(await exists(name)).toBe(true);
      await world.removeAttachment(attachment);
      await sweep();
      expect(await exists(name)).toBe(false);
      expect(deleted).toEqual([name]);
    }, timeout);

    it('a rolled-back upload is deleted once the grace period is over, not before', async () => {
      let uploaded = '';
      await expect(
        world.transaction(async (tx) => {
          uploaded = (await world.uploadDoc('rolled-back.txt', content('rolled back'), tx)).name;
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect(await exists(uploaded)).toBe(true);
      await sweep();
      expect(await exists(uploaded)).toBe(true);
      await sweep({ now: now + GRACE + 1 });
      expect(await exists(uploaded)).toBe(false);
    }, timeout);

    it('a rolled-back removal deletes nothing', async () => {
      const { id, name } = await world.uploadDoc('kept.txt', content('kept'));
      await expect(
        world.transaction(async (tx) => {
          await world.removeDoc(id, tx);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      await sweep({ now: now + GRACE + 1 });
      expect(await exists(name)).toBe(true);
      expect((await world.docFiles(id))?.file).toBe(name);
    }, timeout);

    it('FieldFile.delete() releases the file in the transaction: nothing is lost on rollback, and never the default [case 6]', async () => {
      const { id, name } = await world.uploadDoc('to-delete.txt', content('to delete'));
      await expect(
        world.transaction(async (tx) => {
          await world.deleteFile(id, 'file', tx);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      await sweep();
      expect(await exists(name)).toBe(true);
      expect((await world.docFiles(id))?.file).toBe(name);

      await world.deleteFile(id, 'cover');
      await world.deleteFile(id, 'file');
      expect(await world.docFiles(id)).toEqual({ file: null, cover: null });
      await sweep();
      expect(await exists(name)).toBe(false);
      expect(await exists('defaults/cover.txt')).toBe(true);
    }, timeout);

    it('names that alias another file are refused, and nothing is written [case 4]', async () => {
      const { id, name } = await world.uploadDoc('a.txt', content('a'));
      for (const alias of [name.replace('/', '/./'), name.replace('/', '//'), `./${name}`, `${name}/`]) {
        await expect(world.createDoc(alias)).rejects.toBeInstanceOf(SuspiciousFileOperation);
        await expect(world.assignFile(id, alias)).rejects.toBeInstanceOf(SuspiciousFileOperation);
      }
      for (const control of ['docs/\u202Eevil.txt', 'docs/zero\u200Bwidth.txt', 'docs/line\u2028sep.txt', 'docs/next\u0085line.txt']) {
        await expect(world.createDoc(control)).rejects.toBeInstanceOf(SuspiciousFileOperation);
      }
      expect((await world.docFiles(id))?.file).toBe(name);
      await sweep();
      expect(await exists(name)).toBe(true);
    }, timeout);

    it('names that differ only in case or trailing spaces are different files under any collation [case 3]', async () => {
      const lower = await world.uploadDoc('case.txt', content('lower'));
      const upper = await world.createDoc(lower.name.replace('case.txt', 'CASE.txt'));
      await fixture.storage.save(lower.name.replace('case.txt', 'CASE.txt'), 'upper');
      const padded = await world.createDoc(`${lower.name} `);
      await fixture.storage.save(`${lower.name} `, 'padded');
      await world.removeDoc(upper);
      await world.removeDoc(padded);
      await sweep();
      expect(await exists(lower.name)).toBe(true);
      expect(await exists(lower.name.replace('case.txt', 'CASE.txt'))).toBe(false);
      expect(await exists(`${lower.name} `)).toBe(false);
      await world.removeDoc(lower.id);
      await sweep();
      expect(await exists(lower.name)).toBe(false);
    }, timeout);

    it('a file the sweeper condemned cannot be named again: the write fails, no row dangles [interleaving 3]', async () => {
      const { id, name } = await world.uploadDoc('condemned.txt', content('condemned'));
      await world.removeDoc(id);
      const held = deletions.hold();
      const sweeping = sweep();
      try {
        await held.reached; // the sweeper marked the file 'deleting' and is deleting it
        await expect(world.createDoc(name)).rejects.toBeInstanceOf(FileDeletedError);
      } finally {
        held.release();
        await sweeping;
      }
      await expect(world.createDoc(name)).rejects.toBeInstanceOf(FileDeletedError); // a tombstone now
      expect(await exists(name)).toBe(false);
    }, timeout);

    it('a row that names a file while the sweeper checks it keeps the file [interleaving 3, the check]', async () => {
      const { id, name } = await world.uploadDoc('checked.txt', content('checked'));
      await world.removeDoc(id);
      const held = gate();
      const reached = gate();
      const slow: ReferenceSource = {
        label: 'a source that answers late',
        storages: () => [],
        referencedNames: async () => {
          reached.open();
          await held.promise;
          return new Set();
        },
      };
      const unregister = fixture.references.register(slow);
      try {
        const sweeping = sweep();
        await reached.promise; // the file is 'checking' and the references are being read
        const copy = await world.createDoc(name); // commits meanwhile
        held.open();
        await sweeping;
        await sweep();
        expect(await exists(name)).toBe(true);
        expect((await world.docFiles(copy))?.file).toBe(name);
        await world.removeDoc(copy);
      } finally {
        unregister();
      }
      await sweep();
      expect(await exists(name)).toBe(false);
    }, timeout);

    it(`two sweepers at once handle every record exactly once, skipping none, ${rounds} rounds`, async () => {
      for (let round = 0; round < rounds; round += 1) {
        const names: string[] = [];
        for (let index = 0; index < 20; index += 1) {
          const { id, name } = await world.uploadDoc(`twice-${round}-${index}.txt`, content('twice'));
          names.push(name);
          await world.removeDoc(id);
        }
        deleted.length = 0;
        const other = new FileSweeper(world.ledger, { sources: fixture.references, batchSize: 7 });
        const mine = new FileSweeper(world.ledger, { sources: fixture.references, batchSize: 5 });
        const reports = await Promise.all([other.sweep(), mine.sweep()]);
        // A row one sweeper found locked by the other's short transaction waits for the lease to
        // run out (5 minutes): sweeping as if it had is the recovery, and must find what is left.
        await mine.sweep({ now: now + 5 * 60_000 + 1 });
        expect(reports[0].deleted + reports[1].deleted).toBeLessThanOrEqual(names.length);
        expect(deleted.filter((name) => names.includes(name)).sort()).toEqual([...names].sort()); // each exactly once
        for (const name of names) expect(await exists(name)).toBe(false);
      }
    }, timeout);

    it('the orphan scan finds what a bypass left, dry run first, and hands it to the sweeper', async () => {
      const { id, name } = await world.uploadDoc('bypassed.txt', content('bypassed'));
      const keeper = await world.uploadDoc('keeper.txt', content('keeper'));
      await world.deleteDocBehindTheOrm(id);
      const fresh = await scanOrphans(fixture.storage, world.ledger, { sources: fixture.references, prefix: 'docs' });
      expect(fresh.orphans).toBe(0); // younger than the grace period
      const later = now + GRACE + 1;
      const dry = await scanOrphans(fixture.storage, world.ledger, { sources: fixture.references, prefix: 'docs', now: later, olderThan: 0 });
      expect(dry.sample).toContain(name);
      expect(dry.sample).not.toContain(keeper.name);
      expect(dry.queued).toBe(0);
      expect(await exists(name)).toBe(true);
      const real = await scanOrphans(fixture.storage, world.ledger, { sources: fixture.references, prefix: 'docs', now: later, olderThan: 0, delete: true });
      expect(real.queued).toBe(dry.orphans);
      await sweep({ now: later });
      expect(await exists(name)).toBe(false);
      expect(await exists(keeper.name)).toBe(true);
    }, timeout);

    it('an orphan scan given a sweeper deletes its first batches while it is still listing', async () => {
      const names: string[] = [];
      for (let index = 0; index < 6; index += 1) {
        const { id, name } = await world.uploadDoc(`overlap-${index}.txt`, content('overlap'));
        names.push(name);
        await world.deleteDocBehindTheOrm(id);
      }
      // The same storage (same id): its listing stops before its last name until a deletion has started.
      const deleting = gate();
      let overlapped = false;
      const paused = Object.create(fixture.storage) as Storage;
      paused.walk = async function* (prefix = '') {
        const listed: Array<{ name: string; modified: Date }> = [];
        for await (const entry of fixture.storage.walk(prefix)) listed.push(entry);
        for (const [index, entry] of listed.entries()) {
          if (index === listed.length - 1) overlapped = await opensWithin(deleting, timeout / 4);
          yield entry;
        }
      };
      paused.deleteMany = (batch, callOptions) => {
        deleting.open();
        return fixture.storage.deleteMany(batch, callOptions);
      };
      const sources = new ReferenceSources();
      sources.register({ label: 'a paused listing', storages: () => [paused], referencedNames: (storageId, batch) => fixture.references.referencedNames(storageId, batch) });
      const background = new FileSweeper(world.ledger, { sources, batchSize: 2 });
      background.start(3_600_000);
      try {
        const later = now + GRACE + 1;
        const scan = await scanOrphans(paused, world.ledger, { sources, prefix: 'docs', now: later, olderThan: 0, delete: true, batchSize: 2, sweeper: background });
        expect(scan.queued).toBeGreaterThanOrEqual(names.length);
        await background.idle();
        await background.sweep();
      } finally {
        await background.stop();
      }
      expect(overlapped).toBe(true);
      for (const name of names) expect(await exists(name)).toBe(false);
    }, timeout);

    it('an object written again, behind the ledger, under a name the sweeper deleted is deleted by the next scan', async () => {
      const { id, name } = await world.uploadDoc('written-again.txt', content('first'));
      await world.removeDoc(id);
      await sweep();
      expect(await exists(name)).toBe(false);
      // A bypass (another tool, a restored backup) puts an object under the tombstoned name.
      expect(await fixture.storage.save(name, content('again'))).toBe(name);
      const later = now + GRACE + 1;
      const scan = await scanOrphans(fixture.storage, world.ledger, { sources: fixture.references, prefix: 'docs', now: later, olderThan: 0, delete: true });
      expect(scan.sample).toContain(name);
      await sweep({ now: later });
      expect(await exists(name)).toBe(false);
    }, timeout);

    if (adapter.concurrentTransactions) {
      it(`a copy in an open transaction survives the removal of the last committed row, ${rounds} rounds [case 2, interleaving 1]`, async () => {
        for (let round = 0; round < rounds; round += 1) {
          const { id, name } = await world.uploadDoc(`copied-${round}.txt`, content('copied'));
          const inserted = gate();
          const swept = gate();
          let copy = 0;
          const copying = world.transaction(async (tx) => {
            copy = await world.createDoc(name, tx);
            inserted.open();
            await swept.promise;
          });
          await inserted.promise;
          await world.removeDoc(id); // commits while the copy is open
          await sweep({ now: now + GRACE + 1 });
          swept.open();
          await copying;
          expect(await exists(name)).toBe(true);
          expect((await world.docFiles(copy))?.file).toBe(name);
          await sweep({ now: now + GRACE + 1 });
          expect(await exists(name)).toBe(true);
          await world.removeDoc(copy);
          await sweep({ now: now + GRACE + 1 });
          expect(await exists(name)).toBe(false);
        }
      }, timeout);

      it(`parallel removals of a shared name delete it exactly once, and new saves of that name lose nothing, ${rounds} rounds [case 1, interleaving 2]`, async () => {
        const sharers = 6;
        for (let round = 0; round < rounds; round += 1) {
          const requested = `parallel-${round}.txt`;
          const first = await world.uploadDoc(requested, content('shared'));
          const ids = [first.id];
          for (let copy = 1; copy < sharers; copy += 1) ids.push(await world.createDoc(first.name));
          deleted.length = 0;
          const allRemoved = barrier(ids.length);
          const newcomers: Array<{ id: number; name: string }> = [];
          await Promise.all([
            ...ids.map((id) =>
              world.transaction(async (tx) => {
                await world.removeDoc(id, tx);
                await allRemoved();
              }),
            ),
            (async () => {
              for (let index = 0; index < 3; index += 1) {
                newcomers.push(await world.uploadDoc(requested, content('newcomer')));
                await sweep();
              }
            })(),
          ]);
          await sweep();
          expect(deleted).toEqual([first.name]);
          expect(await exists(first.name)).toBe(false);
          for (const newcomer of newcomers) {
            expect(newcomer.name).not.toBe(first.name);
            expect(await exists(newcomer.name)).toBe(true);
            expect((await world.docFiles(newcomer.id))?.file).toBe(newcomer.name);
            await world.removeDoc(newcomer.id);
          }
          await sweep();
        }
      }, timeout);
    }

    it('a stale copy of a row, saved for another field, neither writes its old name back nor releases the new one [entity state 1]', async () => {
      const { id, name: first } = await world.uploadDoc('stale-first.txt', content('first'));
      const fresh = await world.staleWrite(id, 'stale-fresh.txt', content('fresh'));
      expect(await world.docFiles(id)).toEqual({ file: fresh, cover: null });
      await sweep();
      expect(await exists(fresh)).toBe(true);
      expect(await exists(first)).toBe(false);
      expect(await exists('defaults/cover.txt')).toBe(true);
    }, timeout);

    it('an object the ORM did not load, saved with another field changed, leaves the file column and its file alone [entity state 2]', async () => {
      const { id, name } = await world.uploadDoc('unloaded.txt', content('unloaded'));
      await world.writeUnloaded(id);
      expect(await world.docFiles(id)).toEqual({ file: name, cover: null });
      await sweep();
      expect(await exists(name)).toBe(true);
    }, timeout);

    it('a delete that outlasts deleteTimeout is aborted, not left running behind the sweeper [case 7]', async () => {
      const { id, name } = await world.uploadDoc('slow-delete.txt', content('slow'));
      await world.removeDoc(id);
      // The same storage (same id), whose deleteMany answers only when its signal aborts.
      const signals: Array<AbortSignal | undefined> = [];
      const hanging = Object.create(fixture.storage) as Storage;
      hanging.deleteMany = (_names, callOptions = {}) => {
        signals.push(callOptions.signal);
        return new Promise((_resolve, reject) => callOptions.signal?.addEventListener('abort', () => reject(callOptions.signal!.reason)));
      };
      const sources = new ReferenceSources();
      sources.register({ label: 'a hanging storage', storages: () => [hanging], referencedNames: (storageId, names) => fixture.references.referencedNames(storageId, names) });
      const impatient = new FileSweeper(world.ledger, { sources, deleteTimeout: 200, retry: { initialDelay: 1000, maxDelay: 4000 } });
      expect((await impatient.sweep()).failed).toBeGreaterThanOrEqual(1);
      expect(signals.length).toBeGreaterThanOrEqual(1);
      expect(signals.every((signal) => signal?.aborted)).toBe(true);
      expect(await exists(name)).toBe(true);
      expect((await sweep({ now: now + 10_000 })).deleted).toBeGreaterThanOrEqual(1);
      expect(await exists(name)).toBe(false);
    }, timeout);

    it("a batch's deletion runs while the next batch is checked and deleted; the sweep ends when every deletion has", async () => {
      const names: string[] = [];
      for (let index = 0; index < 9; index += 1) {
        const { id, name } = await world.uploadDoc(`batched-${index}.txt`, content('batched'));
        names.push(name);
        await world.removeDoc(id);
      }
      // The same storage (same id): its first deleteMany waits until a second one has started.
      const secondStarted = gate();
      let calls = 0;
      let overlapped = false;
      const held = Object.create(fixture.storage) as Storage;
      held.deleteMany = async (batch, callOptions) => {
        calls += 1;
        if (calls === 1) {
          // Without overlap the second call never comes.
          overlapped = await opensWithin(secondStarted, timeout / 4);
        } else {
          secondStarted.open();
        }
        return fixture.storage.deleteMany(batch, callOptions);
      };
      const sources = new ReferenceSources();
      sources.register({ label: 'a held storage', storages: () => [held], referencedNames: (storageId, batch) => fixture.references.referencedNames(storageId, batch) });
      const batched = new FileSweeper(world.ledger, { sources, batchSize: 4, concurrency: 2 });
      const report = await batched.sweep();
      expect(overlapped).toBe(true);
      // Other tests' leftovers may join the batches: at least 9 files in batches of 4.
      expect(calls).toBeGreaterThanOrEqual(3);
      expect(report.deleted).toBeGreaterThanOrEqual(names.length);
      for (const name of names) expect(await exists(name)).toBe(false);
    }, timeout);

    if (adapter.crash) {
      it('a process killed between upload and commit leaves a claim; after the grace period the sweeper deletes the upload [case 8]', async () => {
        const { name } = await adapter.crash!(fixture, { step: 'upload' });
        expect(await exists(name)).toBe(true);
        await sweep();
        expect(await exists(name)).toBe(true);
        await sweep({ now: now + GRACE + 1 });
        expect(await exists(name)).toBe(false);
      }, timeout);

      it('a process killed between commit and sweep leaves a task; the next sweep deletes the file [case 8]', async () => {
        const { id, name } = await world.uploadDoc('crash-commit.txt', content('crash'));
        const result = await adapter.crash!(fixture, { step: 'commit', id });
        expect(result.name).toBe(name);
        expect(await world.docFiles(id)).toBeNull();
        expect(await exists(name)).toBe(true);
        await sweep();
        expect(await exists(name)).toBe(false);
      }, timeout);
    }

    if (options.faults) {
      const faults = options.faults;
      describe('through a faulty connection to the storage', () => {
        let faulty: FileSweeper;
        let proxied: Storage;

        beforeAll(async () => {
          proxied = await faults.storage();
          const sources = new ReferenceSources();
          sources.register({ label: 'the world, through the proxy', storages: () => [proxied], referencedNames: (id, names) => fixture.references.referencedNames(id, names) });
          faulty = new FileSweeper(world.ledger, { sources, deleteTimeout: 2000, retry: { initialDelay: 1000, maxDelay: 4000 } });
        }, timeout);

        afterEach(() => faults.heal());

        it('a hung storage does not delay commits; the deletion is retried once the storage answers [case 7]', async () => {
          const first = await world.uploadDoc('hung.txt', content('hung'));
          const second = await world.uploadDoc('hung-too.txt', content('hung'));
          await world.removeDoc(first.id);
          faults.stall();
          const hanging = faulty.sweep(); // stuck in the storage until its deleteTimeout
          await world.removeDoc(second.id); // commits meanwhile: nothing in the commit path waits for the storage
          expect(await world.docFiles(second.id)).toBeNull();
          expect((await hanging).failed).toBeGreaterThanOrEqual(1);
          faults.heal();
          expect(await exists(first.name)).toBe(true);
          const retried = await faulty.sweep({ now: now + 10_000 });
          expect(retried.deleted).toBe(2);
          expect(await exists(first.name)).toBe(false);
          expect(await exists(second.name)).toBe(false);
        }, timeout);

        it('a storage that fails for a while: the ledger retries with backoff until the deletion succeeds [case 7]', async () => {
          const { id, name } = await world.uploadDoc('failing.txt', content('failing'));
          await world.removeDoc(id);
          faults.refuse();
          let at = now;
          for (let attempt = 0; attempt < 3; attempt += 1) {
            at += 10_000;
            expect((await faulty.sweep({ now: at })).failed).toBe(1);
            expect((await faulty.sweep({ now: at })).failed).toBe(0); // backing off
          }
          faults.heal();
          expect((await faulty.sweep({ now: at + 10_000 })).deleted).toBe(1);
          expect(await exists(name)).toBe(false);
        }, timeout);
      });
    }

  });
}
