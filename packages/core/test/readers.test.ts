/**
 * Readers release their download: close(), `await using`, leaving chunks() early, and, for a
 * reader dropped without any of these, a finalizer. A download that breaks fails the next read
 * with a typed error instead of reading as the end of the file or hanging. On the memory and
 * filesystem drivers, by watching the streams the driver hands out.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import {
  type CallOptions,
  FieldFile,
  FileFieldDefinition,
  FileModeError,
  FileSystemStorage,
  MemoryStorage,
  OperationAbortedError,
  type Storage,
  StorageUnavailableError,
} from '@filefield/core';
import { collectUntil, within } from '../../../test-support/bounded-waits';

/** Larger than one chunk of a file stream (64 KiB), so read(1) leaves the download unfinished. */
const BODY = Buffer.alloc(200 * 1024, 'abcdefgh');
const HANG_MS = 20_000;

interface Recording {
  storage: Storage;
  /** Every stream readObject handed out, in order. */
  streams: Readable[];
}

class RecordingMemoryStorage extends MemoryStorage {
  readonly streams: Readable[] = [];

  protected override async readObject(name: string): Promise<Readable> {
    const stream = await super.readObject(name);
    this.streams.push(stream);
    return stream;
  }
}

class RecordingFileSystemStorage extends FileSystemStorage {
  readonly streams: Readable[] = [];

  protected override async readObject(name: string): Promise<Readable> {
    const stream = await super.readObject(name);
    this.streams.push(stream);
    return stream;
  }
}

/** A download whose server sent one byte and then went quiet (the stalled S3 body, in memory). */
class StalledStorage extends MemoryStorage {
  readonly streams: PassThrough[] = [];

  protected override async readObject(_name: string, _options?: CallOptions): Promise<Readable> {
    const stream = new PassThrough();
    stream.write('s');
    this.streams.push(stream);
    return stream;
  }
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'filefield-readers-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const drivers: Array<[string, () => Recording]> = [
  ['MemoryStorage', () => {
    const storage = new RecordingMemoryStorage();
    return { storage, streams: storage.streams };
  }],
  ['FileSystemStorage', () => {
    const storage = new RecordingFileSystemStorage({ location: root });
    return { storage, streams: storage.streams };
  }],
];

/** Destroyed and closed: the file descriptor (or buffer) is let go, not just marked. */
function released(stream: Readable): boolean {
  return stream.destroyed && stream.closed;
}

function fieldFileOn(storage: Storage, name: string): FieldFile {
  const field = new FileFieldDefinition('Row', 'file', { storage });
  return new FieldFile({}, field, name);
}

// Each opens a reader, reads a byte and lets go of every reference to it: from a separate
// function, so that no variable or register of the test's own frame keeps the reader alive.
async function dropStorageFile(storage: Storage, name: string): Promise<WeakRef<object>> {
  const file = storage.open(name);
  await file.read(1);
  return new WeakRef(file);
}

async function dropFieldFile(storage: Storage, name: string): Promise<WeakRef<object>> {
  const file = fieldFileOn(storage, name);
  await file.read(1);
  return new WeakRef(file);
}

async function dropChunks(storage: Storage, name: string): Promise<WeakRef<object>> {
  const chunks = storage.open(name).chunks(1);
  await chunks.next();
  return new WeakRef(chunks);
}

describe.each(drivers)('readers release their download [%s]', (_label, make) => {
  let storage: Storage;
  let streams: Readable[];
  let name: string;

  beforeEach(async () => {
    ({ storage, streams } = make());
    name = await storage.save(`readers/${Math.random().toString(36).slice(2)}.bin`, BODY);
  });

  it('close() destroys the stream before it resolves, for a StorageFile and a FieldFile', async () => {
    const file = storage.open(name);
    expect((await file.read(1)).toString()).toBe('a');
    expect(streams).toHaveLength(1);
    expect(streams[0].destroyed).toBe(false);
    await file.close();
    expect(released(streams[0])).toBe(true);

    const fieldFile = fieldFileOn(storage, name);
    expect((await fieldFile.read(2)).toString()).toBe('ab');
    // Django's rule: the reader stays open for the next read, in the same download.
    expect((await fieldFile.read(2)).toString()).toBe('cd');
    expect(streams).toHaveLength(2);
    await fieldFile.close();
    expect(released(streams[1])).toBe(true);
    // Reading again after close() starts a new download from the start.
    expect((await fieldFile.read(1)).toString()).toBe('a');
    expect(streams).toHaveLength(3);
    await fieldFile.close();
    expect(released(streams[2])).toBe(true);
  }, 30_000);

  it('giving a FieldFile another name releases the download of the old one', async () => {
    const fieldFile = fieldFileOn(storage, name);
    expect((await fieldFile.read(1)).toString()).toBe('a');
    fieldFile.name = `${name}.other`;
    // No collection here: the old reader is unreachable, and only an explicit close releases it now.
    for (let tick = 0; tick < 100 && !streams[0].destroyed; tick += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(streams[0].destroyed).toBe(true);
  }, 30_000);

  it('await using closes a StorageFile and a FieldFile when the block ends, and when it throws', async () => {
    {
      await using file = storage.open(name);
      expect((await file.read(1)).toString()).toBe('a');
    }
    expect(released(streams[0])).toBe(true);
    {
      await using fieldFile = fieldFileOn(storage, name).open();
      expect((await fieldFile.read(1)).toString()).toBe('a');
    }
    expect(released(streams[1])).toBe(true);
    const failing = async () => {
      await using file = storage.open(name);
      await file.read(1);
      throw new Error('the caller failed mid-read');
    };
    await expect(failing()).rejects.toThrow('the caller failed mid-read');
    expect(released(streams[2])).toBe(true);
  }, 30_000);

  it('leaving chunks() early, by break or by throw, destroys its download', async () => {
    for await (const chunk of storage.open(name).chunks(3)) {
      expect(chunk.toString()).toBe('abc');
      break;
    }
    expect(released(streams[0])).toBe(true);
    const fieldFile = fieldFileOn(storage, name);
    for await (const _chunk of fieldFile.chunks(3)) break;
    expect(released(streams[1])).toBe(true);
    await expect(
      (async () => {
        for await (const _chunk of fieldFile.chunks(3)) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    expect(released(streams[2])).toBe(true);
  }, 30_000);

  it('a reader dropped without close() has its stream destroyed once collected; a held one keeps reading', async () => {
    const held = storage.open(name);
    expect((await held.read(1)).toString()).toBe('a');
    const heldStream = streams[0];
    const dropped = [await dropStorageFile(storage, name), await dropFieldFile(storage, name), await dropChunks(storage, name)];
    const droppedStreams = streams.slice(1);
    expect(droppedStreams).toHaveLength(3);

    expect(await collectUntil(() => droppedStreams.every(released))).toBe(true);
    // The finalizer's registry held the streams, not the file objects: those were collected.
    expect(dropped.map((ref) => ref.deref())).toEqual([undefined, undefined, undefined]);
    // A reader still referenced is never touched by the collector.
    expect(heldStream.destroyed).toBe(false);
    expect((await held.read(3)).toString()).toBe('bcd');
    expect((await held.read()).byteLength).toBe(BODY.byteLength - 4);
    await held.close();
  }, 60_000);

  it('a stream destroyed under a reader fails every later read with StorageUnavailableError, not an early end', async () => {
    const file = storage.open(name);
    await file.read(1);
    // What a read timeout or a reset connection does to the body.
    streams[0].destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    // read() of the rest: the part of the last chunk already received is still returned by read(n).
    const failure = await within(file.read().then(() => undefined, (error: unknown) => error), HANG_MS, 'read after destroy');
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as Error).message).toMatch(new RegExp(`download of '${name}' was interrupted \\(read ECONNRESET\\)`));
    expect((failure as Error).cause).toMatchObject({ code: 'ECONNRESET' });
    await expect(within(file.read(), HANG_MS, 'second read')).rejects.toBeInstanceOf(StorageUnavailableError);
    await file.close();

    // Destroyed without an error (what a finalizer or a pool does) is interrupted too.
    const quiet = fieldFileOn(storage, name);
    await quiet.read(1);
    streams[1].destroy();
    await expect(within(quiet.read(), HANG_MS, 'read after a quiet destroy')).rejects.toThrow(/was interrupted/);
    await quiet.close();
  }, 30_000);

  it('a signal that fires between reads stops the download and fails the read as aborted', async () => {
    const controller = new AbortController();
    const file = storage.open(name, 'r', { signal: controller.signal });
    await file.read(1);
    controller.abort(new Error('the request was cancelled'));
    await expect(file.read(1)).rejects.toBeInstanceOf(OperationAbortedError);
    expect(released(streams[0])).toBe(true);
    await expect(file.read(1)).rejects.toBeInstanceOf(OperationAbortedError);
    await file.close();
  }, 30_000);
});

describe('a stalled download', () => {
  it('close() returns at once while a read waits on it, and that read fails as closed', async () => {
    const storage = new StalledStorage();
    const file = storage.open('stalled.bin');
    expect((await file.read(1)).toString()).toBe('s');
    const waiting = file.read(1).then(() => undefined, (error: unknown) => error);
    // Without destroying the stream directly, close() would queue behind the pending read forever.
    await within(file.close(), HANG_MS, 'close() of a stalled download');
    expect(storage.streams[0].destroyed).toBe(true);
    expect(await within(waiting, HANG_MS, 'the read close() cut short')).toBeInstanceOf(FileModeError);
  }, 30_000);

  it('close() while the download is still being opened stops it when it arrives', async () => {
    const storage = new StalledStorage();
    const file = storage.open('stalled.bin');
    const reading = file.read(1).then(() => undefined, (error: unknown) => error);
    await file.close();
    expect(await within(reading, HANG_MS, 'read racing close()')).toBeInstanceOf(FileModeError);
    expect(storage.streams).toHaveLength(1);
    expect(await collectUntil(() => storage.streams[0].destroyed, 20)).toBe(true);
  }, 30_000);
});

/** The driver `Base`, recording the error of every write that failed. */
function recordingFailedWrites<Base extends new (...args: any[]) => MemoryStorage | FileSystemStorage>(base: Base) {
  return class extends base {
    readonly failedWrites: unknown[] = [];

    protected override async writeObject(...args: Parameters<MemoryStorage['writeObject']>): Promise<void> {
      try {
        await super.writeObject(...args);
      } catch (error) {
        this.failedWrites.push(error);
        throw error;
      }
    }
  };
}

const WriteRecordingMemoryStorage = recordingFailedWrites(MemoryStorage);
const WriteRecordingFileSystemStorage = recordingFailedWrites(FileSystemStorage);

describe('a writer dropped without close()', () => {
  const kinds: Array<[string, () => Promise<{ storage: InstanceType<typeof WriteRecordingMemoryStorage>; cleanup: () => Promise<void> }>]> = [
    ['memory', async () => ({ storage: new WriteRecordingMemoryStorage(), cleanup: async () => undefined })],
    [
      'filesystem',
      async () => {
        const location = await mkdtemp(join(tmpdir(), 'filefield-dropped-writer-'));
        return { storage: new WriteRecordingFileSystemStorage({ location }), cleanup: () => rm(location, { recursive: true, force: true }) };
      },
    ],
  ];

  it.each(kinds)('%s: is abandoned once garbage-collected; nothing is stored', async (_kind, make) => {
    const { storage, cleanup } = await make();
    try {
      const writeAndForget = async () => {
        const file = storage.open('forgotten.bin', 'w');
        await file.write(BODY);
      };
      await writeAndForget();
      expect(await collectUntil(() => storage.failedWrites.length > 0)).toBe(true);
      expect(storage.failedWrites[0]).toBeInstanceOf(OperationAbortedError);
      expect(String(storage.failedWrites[0])).toMatch(/garbage-collected without close\(\)/);
      expect(await storage.exists('forgotten.bin')).toBe(false);
      expect((await storage.listdir('')).files).toEqual([]);
    } finally {
      await cleanup();
    }
  }, 60_000);

  it('a closed writer is not abandoned when it is collected later', async () => {
    const storage = new WriteRecordingMemoryStorage();
    const writeAndClose = async () => {
      const file = storage.open('closed.bin', 'w');
      await file.write(BODY);
      await file.close();
    };
    await writeAndClose();
    await collectUntil(() => false, 5);
    expect(storage.failedWrites).toEqual([]);
    expect((await storage.open('closed.bin').read()).equals(BODY)).toBe(true);
  }, 60_000);
});
