/**
 * The storage conformance suite: every driver runs this same suite (Shrine's storage linter,
 * Django's reusable storage tests). Use it from a Jest test file:
 *
 *   describeStorage('S3Storage', (options) => new S3Storage({ ...config, ...options }));
 *
 * The factory gets `{ fileOverwrite }` and must return a storage on a location the suite may
 * write to; every test works under its own random directory and cleans it up.
 */
import { createHash } from 'node:crypto';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ContentFile, LocalFile } from '../content';
import { FileExistsError, FileModeError, FileNameTooLongError, FileNotFoundError, OperationAbortedError, SuspiciousFileOperation } from '../errors';
import { randomSuffix } from '../names';
import type { Storage } from '../storage';

export interface ConformanceOptions {
  /**
   * Size of the streamed large file (default 128 MiB); 0 skips that test. Its memory check
   * (MEMORY_LIMIT, 64 MiB) can only fail a storage that buffers the body if the body is larger
   * than the limit, so keep it at twice the limit or more.
   */
  largeFileBytes?: number;
  /** Check that a large save and read stay within bounded memory (false for MemoryStorage). */
  boundedMemory?: boolean;
  /** Whether `url()` works with the factory's configuration (default true). */
  urls?: boolean;
  /** Parallel saves of one name with fileOverwrite off (default 20). */
  concurrentSaves?: number;
  /** Per-test timeout in ms (default 60 s). */
  timeout?: number;
  /** The driver's longest name in bytes (or path segment), checked to be refused; omit when it has none. */
  maxNameBytes?: number;
  /** Whether two storages from the factory share one id (false for MemoryStorage: each object is its own store). */
  sharedIdentity?: boolean;
}

export type StorageFactory = (options: { fileOverwrite: boolean }) => Storage | Promise<Storage>;

const UNSAFE_NAMES = [
  '../escape.txt',
  'dir/../../escape.txt',
  '/etc/passwd',
  'a\\..\\..\\b.txt',
  'nul\0byte.txt',
  'ctl\nname.txt',
  '',
  'dir/',
  'C:/windows.txt',
  // Aliases: every driver would resolve these to another name ('dir/x.txt', 'x.txt').
  'dir/./x.txt',
  'dir//x.txt',
  './x.txt',
  // Bidi and format controls that disguise a name.
  'invoice\u202Efdp.exe',
  'zero\u200Bwidth.txt',
];

export function describeStorage(label: string, factory: StorageFactory, options: ConformanceOptions = {}): void {
  const largeFileBytes = options.largeFileBytes ?? 2 * MEMORY_LIMIT;
  const timeout = options.timeout ?? 60_000;

  describe(`${label} conforms to the storage contract`, () => {
    let storage: Storage;
    let unique: Storage;
    let dir: string;

    beforeAll(async () => {
      storage = await factory({ fileOverwrite: true });
      unique = await factory({ fileOverwrite: false });
    });

    beforeEach(() => {
      dir = `conformance-${randomSuffix(10)}`;
    });

    afterEach(async () => {
      await removeTree(storage, dir);
    }, timeout);

    it('passes the default_storage doctest: exists, open w, write, close, read, delete', async () => {
      const name = `${dir}/storage_test`;
      expect(await storage.exists(name)).toBe(false);
      const writer = storage.open(name, 'w');
      await writer.write('storage contents');
      await writer.close();
      expect(await storage.exists(name)).toBe(true);
      const reader = storage.open(name, 'r');
      expect((await reader.read()).toString()).toBe('storage contents');
      await reader.close();
      await storage.delete(name);
      expect(await storage.exists(name)).toBe(false);
    }, timeout);

    it('saves every kind of content and reports size and modification time', async () => {
      const source = await mkdtemp(join(tmpdir(), 'filefield-conformance-'));
      try {
        const localPath = join(source, 'local.bin');
        await writeFile(localPath, 'from disk');
        const contents: Array<[string, Parameters<Storage['save']>[1], string]> = [
          ['string.txt', 'a string', 'a string'],
          ['buffer.bin', Buffer.from('a buffer'), 'a buffer'],
          ['uint8.bin', new TextEncoder().encode('a typed array'), 'a typed array'],
          ['content.txt', new ContentFile('content file'), 'content file'],
          ['local.txt', new LocalFile(localPath), 'from disk'],
          ['readable.txt', Readable.from([Buffer.from('a '), Buffer.from('readable')]), 'a readable'],
          ['iterable.txt', (async function* () { yield 'an '; yield new TextEncoder().encode('iterable'); })(), 'an iterable'],
          ['empty.txt', '', ''],
        ];
        const before = Date.now();
        for (const [file, content, expected] of contents) {
          const stored = await storage.save(`${dir}/${file}`, content);
          expect(stored).toBe(`${dir}/${file}`);
          expect((await storage.open(stored).read()).toString()).toBe(expected);
          expect(await storage.size(stored)).toBe(Buffer.byteLength(expected));
        }
        const modified = await storage.modifiedTime(`${dir}/string.txt`);
        // Compared by tag: a driver's Date may come from another realm than the test's.
        expect(Object.prototype.toString.call(modified)).toBe('[object Date]');
        expect(Math.abs(modified.getTime() - before)).toBeLessThan(120_000);
      } finally {
        await rm(source, { recursive: true, force: true });
      }
    }, timeout);

    it('reads a little at a time and in chunks', async () => {
      const name = await storage.save(`${dir}/content.txt`, 'content');
      const file = storage.open(name);
      expect((await file.read(3)).toString()).toBe('con');
      expect((await file.read()).toString()).toBe('tent');
      expect((await file.read()).byteLength).toBe(0);
      await file.close();
      const chunks: string[] = [];
      for await (const chunk of storage.open(name).chunks(2)) chunks.push(chunk.toString());
      expect(chunks.join('-')).toBe('co-nt-en-t');
    }, timeout);

    it('refuses reading a writer, writing a reader, and using a closed file', async () => {
      const name = await storage.save(`${dir}/modes.txt`, 'modes');
      await expect(storage.open(name, 'w').read()).rejects.toBeInstanceOf(FileModeError);
      await expect(storage.open(name, 'r').write('x')).rejects.toBeInstanceOf(FileModeError);
      const reader = storage.open(name);
      await reader.close();
      await expect(reader.read()).rejects.toBeInstanceOf(FileModeError);
      expect(() => storage.open(name, 'a' as never)).toThrow(FileModeError);
      expect((await storage.open(name).read()).toString()).toBe('modes');
    }, timeout);

    it('replaces the file under the same name when fileOverwrite is on', async () => {
      const first = await storage.save(`${dir}/same.txt`, 'first');
      const second = await storage.save(`${dir}/same.txt`, 'second');
      expect(second).toBe(first);
      expect((await storage.open(second).read()).toString()).toBe('second');
    }, timeout);

    it('gives a taken name a unique variant (stem_<7 chars>.ext) when fileOverwrite is off', async () => {
      const first = await unique.save(`${dir}/django_test.txt`, 'content');
      const second = await unique.save(`${dir}/django_test.txt`, 'more content');
      const third = await unique.save(`${dir}/django_test.txt`, Readable.from([Buffer.from('streamed')]));
      expect(first).toBe(`${dir}/django_test.txt`);
      expect(second).toMatch(new RegExp(`^${dir}/django_test_[A-Za-z0-9]{7}\\.txt$`));
      expect(third).toMatch(new RegExp(`^${dir}/django_test_[A-Za-z0-9]{7}\\.txt$`));
      expect(new Set([first, second, third]).size).toBe(3);
      expect((await unique.open(first).read()).toString()).toBe('content');
      expect((await unique.open(second).read()).toString()).toBe('more content');
      expect((await unique.open(third).read()).toString()).toBe('streamed');
      expect(await unique.getAvailableName(first)).toMatch(new RegExp(`^${dir}/django_test_[A-Za-z0-9]{7}\\.txt$`));
      expect(await unique.getAvailableName(`${dir}/free.txt`)).toBe(`${dir}/free.txt`);
    }, timeout);

    it('keeps every one of many concurrent saves of the same name', async () => {
      const count = options.concurrentSaves ?? 20;
      const names = await Promise.all(
        Array.from({ length: count }, (_, i) => unique.save(`${dir}/race.txt`, Buffer.from(`writer ${i}`))),
      );
      expect(new Set(names).size).toBe(count);
      const contents = await Promise.all(names.map(async (name) => (await unique.open(name).read()).toString()));
      expect(contents.sort()).toEqual(Array.from({ length: count }, (_, i) => `writer ${i}`).sort());
    }, timeout);

    it('shortens names to maxLength, keeping directory and extension, or fails clearly', async () => {
      const long = `${dir}/${'x'.repeat(60)}.txt`;
      const max = dir.length + 1 + 20;
      // Like Django, a name that is too long gets a truncated stem and a random suffix.
      const taken = await unique.save(long, 'one', { maxLength: max });
      expect(taken.length).toBeLessThanOrEqual(max);
      expect(taken).toMatch(new RegExp(`^${dir}/x+_[A-Za-z0-9]{7}\\.txt$`));
      const next = await unique.save(long, 'two', { maxLength: max });
      expect(next.length).toBeLessThanOrEqual(max);
      expect(next).toMatch(new RegExp(`^${dir}/x+_[A-Za-z0-9]{7}\\.txt$`));
      await expect(unique.save(taken, 'three', { maxLength: dir.length + 10 })).rejects.toBeInstanceOf(SuspiciousFileOperation);
      expect((await unique.listdir(dir)).files.sort()).toEqual([taken, next].map((n) => n.slice(dir.length + 1)).sort());
    }, timeout);

    it('refuses unsafe names with SuspiciousFileOperation and writes nothing', async () => {
      for (const name of UNSAFE_NAMES) {
        await expect(storage.save(name, 'nope')).rejects.toBeInstanceOf(SuspiciousFileOperation);
        await expect(storage.exists(name)).rejects.toBeInstanceOf(SuspiciousFileOperation);
        await expect(storage.delete(name)).rejects.toBeInstanceOf(SuspiciousFileOperation);
        expect(() => storage.open(name, 'w')).toThrow(SuspiciousFileOperation);
      }
      await expect(storage.save(`${dir}/../../escape.txt`, 'nope')).rejects.toBeInstanceOf(SuspiciousFileOperation);
      const top = await storage.listdir('');
      expect(top.files).not.toContain('escape.txt');
      expect(top.files).not.toContain('passwd');
    }, timeout);

    it('reports missing files as FileNotFoundError; deleting one is not an error', async () => {
      const name = `${dir}/missing.txt`;
      expect(await storage.exists(name)).toBe(false);
      await expect(storage.size(name)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.modifiedTime(name)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.open(name).read()).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.createReadStream(name)).rejects.toBeInstanceOf(FileNotFoundError);
      await expect(storage.delete(name)).resolves.toBeUndefined();
      await expect(storage.size(name)).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    }, timeout);

    it('copy: the bytes under a new name, the source kept; a missing source is FileNotFoundError', async () => {
      const source = `${dir}/copy/source file ü.txt`;
      await storage.save(source, 'copied bytes');
      await storage.copy(source, `${dir}/copy/copied.txt`);
      expect((await storage.open(`${dir}/copy/copied.txt`).read()).toString()).toBe('copied bytes');
      expect((await storage.open(source).read()).toString()).toBe('copied bytes');
      await expect(storage.copy(`${dir}/copy/missing.txt`, `${dir}/copy/never.txt`)).rejects.toBeInstanceOf(FileNotFoundError);
      expect(await storage.exists(`${dir}/copy/never.txt`)).toBe(false);
      await expect(storage.copy(source, '../escape.txt')).rejects.toBeInstanceOf(SuspiciousFileOperation);
    }, timeout);

    it('deleteMany deletes every name, missing ones included, and reports each', async () => {
      const names = [`${dir}/many/a.txt`, `${dir}/many/b.txt`, `${dir}/many/deep/c.txt`];
      for (const name of names) await storage.save(name, name);
      const result = await storage.deleteMany([...names, `${dir}/many/missing.txt`, names[0]]);
      expect(result.failed).toEqual([]);
      expect(result.deleted.sort()).toEqual([...names, `${dir}/many/missing.txt`].sort());
      for (const name of names) expect(await storage.exists(name)).toBe(false);
      expect(await storage.deleteMany([])).toEqual({ deleted: [], failed: [] });
      await expect(storage.deleteMany(['../escape.txt'])).rejects.toBeInstanceOf(SuspiciousFileOperation);
    }, timeout);

    it('honours an AbortSignal: a fired one sends nothing, one fired between reads ends the download', async () => {
      const fired = AbortSignal.abort(new Error('gave up'));
      const name = `${dir}/aborted.txt`;
      for (const call of [
        () => storage.save(name, 'never', { signal: fired }),
        () => storage.open(name, 'r', { signal: fired }).read(),
        () => storage.createReadStream(name, { signal: fired }),
        () => storage.delete(name, { signal: fired }),
        () => storage.deleteMany([name], { signal: fired }),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OperationAbortedError);
        expect(error).toMatchObject({ code: 'E_ABORTED', cause: fired.reason });
      }
      expect(await storage.exists(name)).toBe(false);

      await storage.save(name, 'kept');
      await expect(storage.delete(name, { signal: fired })).rejects.toBeInstanceOf(OperationAbortedError);
      expect(await storage.exists(name)).toBe(true);
      const controller = new AbortController();
      const file = storage.open(name, 'r', { signal: controller.signal });
      expect((await file.read(1)).toString()).toBe('k');
      controller.abort();
      await expect(file.read()).rejects.toBeInstanceOf(OperationAbortedError);
      await file.close();
      expect((await storage.open(name).read()).toString()).toBe('kept');
    }, timeout);

    it('walks every file under a prefix, with its modification time', async () => {
      const before = Date.now() - 60_000;
      const names = [`${dir}/walk/a.txt`, `${dir}/walk/b/c.txt`, `${dir}/walk/b/d/e.txt`];
      for (const name of names) await storage.save(name, 'w');
      await storage.save(`${dir}/walked-not.txt`, 'outside the prefix');
      const seen = [];
      for await (const entry of storage.walk(`${dir}/walk`)) seen.push(entry);
      expect(seen.map((entry) => entry.name).sort()).toEqual(names.sort());
      for (const entry of seen) expect(entry.modified.getTime()).toBeGreaterThan(before);
      const nothing = [];
      for await (const entry of storage.walk(`${dir}/no-such-dir`)) nothing.push(entry);
      expect(nothing).toEqual([]);
    }, timeout);

    it('has a stable id: two storage objects with the same configuration are the same files', async () => {
      const again = await factory({ fileOverwrite: true });
      expect(typeof storage.id).toBe('string');
      expect(storage.id).toBe(storage.id);
      if (options.sharedIdentity ?? true) expect(again.id).toBe(storage.id);
    }, timeout);

    if (options.maxNameBytes !== undefined) {
      const maxNameBytes = options.maxNameBytes;
      it(`refuses names longer than the driver's limit (${maxNameBytes} bytes) before any request`, async () => {
        const long = `${dir}/${'é'.repeat(Math.ceil(maxNameBytes / 2))}.txt`;
        await expect(storage.save(long, 'x')).rejects.toBeInstanceOf(FileNameTooLongError);
        await expect(storage.exists(long)).rejects.toMatchObject({ code: 'E_NAME_TOO_LONG' });
      }, timeout);
    }

    it('lists directories and files one level deep', async () => {
      await storage.save(`${dir}/a/b.txt`, 'b');
      await storage.save(`${dir}/a/c/d.txt`, 'd');
      await storage.save(`${dir}/a/c/e/f.txt`, 'f');
      await storage.save(`${dir}/top.txt`, 'top');
      expect(await storage.listdir(dir)).toEqual({ directories: ['a'], files: ['top.txt'] });
      expect(await storage.listdir(`${dir}/a`)).toEqual({ directories: ['c'], files: ['b.txt'] });
      expect(await storage.listdir(`${dir}/a/c/`)).toEqual({ directories: ['e'], files: ['d.txt'] });
      expect(await storage.listdir(`${dir}/nothing-here`)).toEqual({ directories: [], files: [] });
    }, timeout);

    if (options.urls ?? true) {
      it('builds a URL that names the file', async () => {
        const name = await storage.save(`${dir}/url test.txt`, 'u');
        const url = await storage.url(name);
        expect(typeof url).toBe('string');
        expect(url).toContain(encodeURIComponent('url test.txt').replace(/%20/g, '%20'));
      }, timeout);
    }

    if (largeFileBytes > 0) {
      it(`streams a ${Math.round(largeFileBytes / 1024 / 1024)} MiB body in and out${options.boundedMemory === false ? '' : ' with bounded memory'}`, async () => {
        const sent = createHash('sha256');
        const meter = options.boundedMemory === false ? undefined : new MemoryMeter(MEMORY_LIMIT);
        let growth: number | undefined;
        try {
          // One 1 MiB chunk read ahead, not Readable.from's 16: the memory measured is the storage's.
          const body = Readable.from(deterministicChunks(largeFileBytes, sent), { highWaterMark: 1 });
          const name = await storage.save(`${dir}/large.bin`, body);
          expect(await storage.size(name)).toBe(largeFileBytes);
          const received = createHash('sha256');
          let total = 0;
          for await (const chunk of storage.open(name).chunks(1024 * 1024)) {
            received.update(chunk);
            total += chunk.byteLength;
            meter?.sample();
          }
          expect(total).toBe(largeFileBytes);
          expect(received.digest('hex')).toBe(sent.digest('hex'));
        } finally {
          growth = meter?.stop();
        }
        // In MiB, so that a failure reads at a glance.
        if (growth !== undefined) expect(growth / 1024 / 1024).toBeLessThan(MEMORY_LIMIT / 1024 / 1024);
      }, Math.max(timeout, 180_000));
    }

    it('does not report an exclusive-write collision as success', async () => {
      // A one-shot stream saved under a name another writer takes first must fail or get its own name.
      const name = `${dir}/exclusive.txt`;
      await unique.save(name, 'original');
      const stored = await unique.save(name, Readable.from([Buffer.from('stream')])).catch((error: unknown) => error);
      if (stored instanceof Error) expect(stored).toBeInstanceOf(FileExistsError);
      else expect(stored).not.toBe(name);
      expect((await unique.open(name).read()).toString()).toBe('original');
    }, timeout);
  });
}

/**
 * Removes everything under `dir` through the storage's own API, in one `deleteMany` per directory
 * (s3rver answered 500 to some of 50 DELETEs sent at once on a loaded machine).
 */
async function removeTree(storage: Storage, dir: string): Promise<void> {
  const { directories, files } = await storage.listdir(dir);
  const { failed } = await storage.deleteMany(files.map((file) => `${dir}/${file}`));
  if (failed.length > 0) throw failed[0].error;
  for (const sub of directories) await removeTree(storage, `${dir}/${sub}`);
}

/** Pseudo-random 1 MiB chunks (so compression cannot shrink them), hashed as they are produced. */
async function* deterministicChunks(total: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  const chunkSize = 1024 * 1024;
  let seed = 0x9e3779b9;
  for (let sent = 0; sent < total; sent += chunkSize) {
    const chunk = Buffer.allocUnsafe(Math.min(chunkSize, total - sent));
    for (let i = 0; i + 4 <= chunk.length; i += 4) {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      chunk.writeUInt32LE(seed, i);
    }
    hash.update(chunk);
    yield chunk;
  }
}

/**
 * How much live memory (JS heap + Buffers, after a full collection) the large-file test may grow
 * by. The S3 driver's multipart upload holds 3 parts of 5 MiB, a download a few chunks; garbage
 * does not count, however much of it a loaded machine leaves uncollected.
 */
const MEMORY_LIMIT = 64 * 1024 * 1024;

/**
 * Peak growth of live JS heap + Buffer memory while a test runs, sampled every 5 ms and on demand.
 * Garbage not yet collected is not memory the driver holds, and on a busy machine it piles up
 * faster than V8 collects it: so a sample at or above half the limit is taken again after full
 * collections (V8's `gc`, enabled at run time), and only what survives them counts. The peak is
 * then live memory whenever it comes near the limit, and a failure reports what the storage
 * holds. Smaller samples pass as they are (garbage only makes them larger), so collections happen
 * only when memory looks high, which keeps the test fast on a loaded machine.
 */
class MemoryMeter {
  private static readonly gc = exposeGc();
  private readonly baseline: number;
  private peak: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly limit: number) {
    // Without collections the check would count garbage, and fail drivers on busy machines.
    if (!MemoryMeter.gc) throw new Error('The memory check needs V8\'s gc(): run Node with --expose-gc.');
    MemoryMeter.collect();
    this.baseline = MemoryMeter.now();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 5);
  }

  static now(): number {
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  }

  /**
   * Two full collections: V8 frees the memory of dead ArrayBuffers (every Buffer over 4 KiB) on a
   * concurrent sweeper after a collection, so right after one `gc()` they still count in
   * `arrayBuffers`; the second collection waits for that sweep to finish.
   */
  static collect(): void {
    MemoryMeter.gc!();
    MemoryMeter.gc!();
  }

  sample(): void {
    let reading = MemoryMeter.now();
    // Once over the limit the test fails whatever comes next: no more slow collections.
    const failed = this.peak - this.baseline >= this.limit;
    if (!failed && reading - this.baseline >= this.limit / 2) {
      MemoryMeter.collect();
      reading = MemoryMeter.now();
    }
    this.peak = Math.max(this.peak, reading);
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}

/** V8's `gc()`, switched on now (the flag may be set after start) and read from a fresh context. */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}
