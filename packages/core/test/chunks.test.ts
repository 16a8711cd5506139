/**
 * Issue 11: the read paths hand out network chunks without copying them where they can, and copy
 * only to fill an exact chunk. The drivers here deliver their files in chunks of sizes a test
 * chooses (odd, empty, larger than asked), each in its own allocation as a socket read is, and
 * record what they delivered, so that a test can tell a view of a delivered chunk from a copy.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type CallOptions, FieldFile, FileFieldDefinition, FileSystemStorage, MemoryStorage, type Storage } from '@filefield/core';

/** Not a multiple of any chunk size below, so every loop ends on a short chunk. */
const BODY = randomBytes(150_001);

interface Network {
  /** Sizes of the chunks each download delivers, repeated; 0 delivers an empty chunk. */
  pattern: number[];
  /** Every chunk delivered, in order. */
  delivered: Buffer[];
}

/** The bytes of `source` again, in chunks of the sizes `network.pattern` gives. */
async function* deliver(source: Readable, network: Network): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending = Buffer.alloc(0);
  let ended = false;
  try {
    for (let index = 0; ; index += 1) {
      const size = network.pattern[index % network.pattern.length];
      while (!ended && pending.byteLength < size) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else pending = Buffer.concat([pending, next.value]);
      }
      if (ended && pending.byteLength === 0) return;
      // Its own memory (never Node's shared pool), as a socket read's buffer is.
      const piece = Buffer.allocUnsafeSlow(Math.min(size, pending.byteLength));
      pending.copy(piece, 0, 0, piece.byteLength);
      pending = pending.subarray(piece.byteLength);
      network.delivered.push(piece);
      yield piece;
    }
  } finally {
    source.destroy();
  }
}

class ScriptedMemoryStorage extends MemoryStorage {
  constructor(readonly network: Network) {
    super();
  }

  protected override async readObject(name: string): Promise<Readable> {
    return Readable.from(deliver(await super.readObject(name), this.network));
  }
}

class ScriptedFileSystemStorage extends FileSystemStorage {
  constructor(
    location: string,
    readonly network: Network,
  ) {
    super({ location });
  }

  protected override async readObject(name: string, options: CallOptions): Promise<Readable> {
    return Readable.from(deliver(await super.readObject(name, options), this.network));
  }
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'filefield-chunks-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const drivers: Array<[string, (network: Network) => Storage]> = [
  ['MemoryStorage', (network) => new ScriptedMemoryStorage(network)],
  ['FileSystemStorage', (network) => new ScriptedFileSystemStorage(root, network)],
];

/** Odd sizes, empty chunks and chunks far larger than the smaller reads. */
const ODD = [1, 7, 0, 3, 4096, 13, 65_536, 0, 2, 20_000, 4095, 4097];

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const all: Buffer[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

/** Whether `chunk` lies inside one of the delivered chunks' memory: a view, not a copy. */
function isViewOfDelivered(chunk: Buffer, delivered: Buffer[]): boolean {
  return delivered.some(
    (piece) => piece.buffer === chunk.buffer && chunk.byteOffset >= piece.byteOffset && chunk.byteOffset + chunk.byteLength <= piece.byteOffset + piece.byteLength,
  );
}

describe.each(drivers)('reading across network chunk boundaries [%s]', (_label, make) => {
  let network: Network;
  let storage: Storage;
  let name: string;

  beforeEach(async () => {
    network = { pattern: ODD, delivered: [] };
    storage = make(network);
    name = await storage.save(`chunks/${Math.random().toString(36).slice(2)}.bin`, BODY);
  });

  function fieldFile(): FieldFile {
    return new FieldFile({}, new FileFieldDefinition('Row', 'file', { storage }), name);
  }

  it('chunks(n) gives exactly n bytes per chunk except the last, whatever the network delivers', async () => {
    for (const size of [1, 2, 3, 7, 1000, 4096, 65_536, 65_537, BODY.byteLength - 1, BODY.byteLength, BODY.byteLength + 5]) {
      const chunks = await collect(storage.open(name).chunks(size));
      const last = chunks[chunks.length - 1];
      expect(chunks).toHaveLength(Math.ceil(BODY.byteLength / size));
      expect(chunks.slice(0, -1).every((chunk) => chunk.byteLength === size)).toBe(true);
      expect(last.byteLength).toBe(BODY.byteLength - size * (chunks.length - 1));
      expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
    }
    // The field's chunks are the same, Django's default size included.
    const fromField = await collect(fieldFile().chunks());
    expect(fromField.map((chunk) => chunk.byteLength)).toEqual([65_536, 65_536, BODY.byteLength - 2 * 65_536]);
    expect(Buffer.concat(fromField).equals(BODY)).toBe(true);
  }, 60_000);

  it('an exact chunk is the network chunk itself when aligned, a view of a larger one, a copy only when it spans several', async () => {
    network.pattern = [1000];
    const aligned = await collect(storage.open(name).chunks(1000));
    expect(aligned).toHaveLength(network.delivered.length);
    aligned.forEach((chunk, index) => expect(chunk).toBe(network.delivered[index]));

    network.pattern = [30_000];
    network.delivered = [];
    const sliced = await collect(storage.open(name).chunks(1000));
    expect(Buffer.concat(sliced).equals(BODY)).toBe(true);
    expect(sliced.every((chunk) => isViewOfDelivered(chunk, network.delivered))).toBe(true);

    network.pattern = [600];
    network.delivered = [];
    const spanning = await collect(storage.open(name).chunks(1000));
    expect(Buffer.concat(spanning).equals(BODY)).toBe(true);
    // 1000 bytes from 600-byte chunks: filled by copying, never one of the delivered buffers reused.
    expect(spanning.slice(0, -1).some((chunk) => isViewOfDelivered(chunk, network.delivered))).toBe(false);
  }, 30_000);

  it('chunks(n, { exact: false }) hands on what arrives: the same bytes, never empty, never over n, never copied', async () => {
    for (const cap of [1, 5, 4096, 1024 * 1024]) {
      network.delivered = [];
      const chunks = await collect(storage.open(name).chunks(cap, { exact: false }));
      expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
      expect(chunks.every((chunk) => chunk.byteLength > 0 && chunk.byteLength <= cap)).toBe(true);
      expect(chunks.every((chunk) => isViewOfDelivered(chunk, network.delivered))).toBe(true);
      // A chunk that fits is handed on as the very Buffer that arrived.
      const fitting = network.delivered.filter((piece) => piece.byteLength > 0 && piece.byteLength <= cap);
      expect(fitting.every((piece) => chunks.includes(piece))).toBe(true);
    }
    network.delivered = [];
    const large = await collect(storage.open(name).chunks(1024 * 1024, { exact: false }));
    expect(large.length).toBe(network.delivered.filter((piece) => piece.byteLength > 0).length);

    // The field passes the option on; the default cap is Django's chunk size.
    network.delivered = [];
    const fromField = await collect(fieldFile().chunks(undefined, { exact: false }));
    expect(Buffer.concat(fromField).equals(BODY)).toBe(true);
    expect(fromField.every((chunk) => chunk.byteLength > 0 && chunk.byteLength <= 65_536 && isViewOfDelivered(chunk, network.delivered))).toBe(true);
    expect(fromField.length).toBeGreaterThan(Math.ceil(BODY.byteLength / 65_536));
  }, 30_000);

  it('chunks and reads handed out are never written to afterwards (all held until the download ends)', async () => {
    const cases: Array<[string, () => AsyncIterable<Buffer>]> = [
      ['chunks(1000)', () => storage.open(name).chunks(1000)],
      ['chunks(64 KiB)', () => storage.open(name).chunks(65_536)],
      ['chunks(1000, { exact: false })', () => storage.open(name).chunks(1000, { exact: false })],
      ['read(777) loop', () => readLoop(storage, name, 777)],
      ['read(100000) loop', () => readLoop(storage, name, 100_000)],
    ];
    for (const [label, chunks] of cases) {
      const held: Array<{ chunk: Buffer; copy: Buffer }> = [];
      for await (const chunk of chunks()) held.push({ chunk, copy: Buffer.from(chunk) });
      const changed = held.findIndex(({ chunk, copy }) => !chunk.equals(copy));
      expect({ label, changed }).toEqual({ label, changed: -1 });
      expect(Buffer.concat(held.map(({ chunk }) => chunk)).equals(BODY)).toBe(true);
    }
  }, 30_000);

  it('read(n) keeps its semantics: n bytes across boundaries, fewer only at the end, then empty', async () => {
    const file = storage.open(name);
    expect((await file.read(0)).byteLength).toBe(0);
    expect((await file.read(1)).equals(BODY.subarray(0, 1))).toBe(true);
    // Spans the 7-, 0-, 3- and 4096-byte chunks and part of the next.
    expect((await file.read(5000)).equals(BODY.subarray(1, 5001))).toBe(true);
    expect((await file.read(3)).equals(BODY.subarray(5001, 5004))).toBe(true);
    expect((await file.read()).equals(BODY.subarray(5004))).toBe(true);
    expect((await file.read()).byteLength).toBe(0);
    expect((await file.read(10)).byteLength).toBe(0);
    await file.close();

    const rest = storage.open(name);
    await rest.read(BODY.byteLength - 4);
    expect((await rest.read(100)).equals(BODY.subarray(-4))).toBe(true);
    expect((await rest.read(100)).byteLength).toBe(0);
    await rest.close();

    const pieces = await collect(readLoop(storage, name, 777));
    expect(pieces.slice(0, -1).every((piece) => piece.byteLength === 777)).toBe(true);
    expect(Buffer.concat(pieces).equals(BODY)).toBe(true);

    // The FieldFile reader too (Django's read(n) on the same download).
    const field = fieldFile();
    expect((await field.read(2)).equals(BODY.subarray(0, 2))).toBe(true);
    expect((await field.read(9)).equals(BODY.subarray(2, 11))).toBe(true);
    await field.close();
  }, 30_000);

  it('a read that one network chunk answers is a view of it, not a copy', async () => {
    network.pattern = [65_536];
    const file = storage.open(name);
    const first = await file.read(10);
    const second = await file.read(65_526);
    const spanning = await file.read(20);
    await file.close();
    expect(first.buffer === network.delivered[0].buffer).toBe(true);
    expect(second.buffer === network.delivered[0].buffer).toBe(true);
    expect(first.equals(BODY.subarray(0, 10))).toBe(true);
    expect(second.equals(BODY.subarray(10, 65_536))).toBe(true);
    expect(spanning.equals(BODY.subarray(65_536, 65_556))).toBe(true);
    const whole = await storage.open(name).read();
    expect(whole.equals(BODY)).toBe(true);
  }, 30_000);

  it('refuses a chunk size that is not a positive integer, in either mode', async () => {
    await expect(storage.open(name).chunks(0, { exact: false }).next()).rejects.toBeInstanceOf(RangeError);
    await expect(storage.open(name).chunks(1.5).next()).rejects.toBeInstanceOf(RangeError);
    await expect(storage.open(name).chunks(Infinity, { exact: false }).next()).rejects.toBeInstanceOf(RangeError);
  }, 30_000);
});

async function* readLoop(storage: Storage, name: string, size: number): AsyncGenerator<Buffer> {
  const file = storage.open(name);
  try {
    for (;;) {
      const piece = await file.read(size);
      if (piece.byteLength === 0) return;
      yield piece;
    }
  } finally {
    await file.close();
  }
}

/** A driver whose stream yields Uint8Arrays (as a web stream does) and strings. */
class MixedChunksStorage extends MemoryStorage {
  /** The memory the last download's Uint8Arrays are views of. */
  delivered: ArrayBuffer | undefined;

  protected override async readObject(): Promise<Readable> {
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    this.delivered = bytes.buffer;
    return Readable.from([bytes.subarray(0, 3), 'ab', bytes.subarray(3, 7)]);
  }
}

describe('chunks that are not Buffers', () => {
  it('reads Uint8Arrays without copying them, and strings as their bytes', async () => {
    const storage = new MixedChunksStorage();
    const expected = Buffer.from([1, 2, 3, 0x61, 0x62, 4, 5, 6, 7]);
    const exact = await collect(storage.open('mixed.bin').chunks(2));
    expect(exact.map((chunk) => [...chunk])).toEqual([[1, 2], [3, 0x61], [0x62, 4], [5, 6], [7]]);
    expect(exact.every((chunk) => Buffer.isBuffer(chunk))).toBe(true);

    const passed = await collect(storage.open('mixed.bin').chunks(100, { exact: false }));
    expect(Buffer.concat(passed).equals(expected)).toBe(true);
    expect(passed.map((chunk) => chunk.buffer === storage.delivered)).toEqual([true, false, true]);
    expect([passed[0].byteOffset, passed[2].byteOffset]).toEqual([0, 3]);
    expect((await storage.open('mixed.bin').read()).equals(expected)).toBe(true);
  }, 30_000);
});
