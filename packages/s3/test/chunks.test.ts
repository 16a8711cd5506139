/**
 * Issue 11 on real S3 bodies: `chunks(n)` cuts the network's chunks into exact pieces,
 * `chunks(n, { exact: false })` hands them on (at most n bytes, none empty), `read(n)` loops give
 * back the file, and nothing handed out changes afterwards: every chunk is held, with a copy
 * taken when it arrived, until the download has ended. Also through gunzip (a gzipped object).
 */
import { randomBytes } from 'node:crypto';
import { S3Storage } from '@filefield/s3';
import { describeOnServers } from './support/servers';

const MiB = 1024 * 1024;
/** Several MiB and an odd tail, so that no chunk size below divides it. */
const BODY = randomBytes(3 * MiB + 12_345);
/** Compressible, so the gunzip stream gives many more chunks than the body it reads. */
const TEXT = Buffer.from(Array.from({ length: 60_000 }, (_, line) => `.rule-${line} { margin: ${line % 97}px; }\n`).join(''));

interface Held {
  chunk: Buffer;
  copy: Buffer;
}

async function hold(chunks: AsyncIterable<Buffer>): Promise<Held[]> {
  const held: Held[] = [];
  for await (const chunk of chunks) held.push({ chunk, copy: Buffer.from(chunk) });
  return held;
}

/** Held chunks still hold what they held when they arrived, and make up `expected`. */
function expectUnchanged(held: Held[], expected: Buffer): void {
  expect(held.findIndex(({ chunk, copy }) => !chunk.equals(copy))).toBe(-1);
  expect(Buffer.concat(held.map(({ chunk }) => chunk)).equals(expected)).toBe(true);
}

async function* readLoop(storage: S3Storage, name: string, size: number): AsyncGenerator<Buffer> {
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

describeOnServers('S3 chunks and reads', (server) => {
  let storage: S3Storage;
  let gzipped: S3Storage;

  beforeAll(async () => {
    storage = new S3Storage(server().options({ location: 'chunks' }));
    gzipped = new S3Storage(server().options({ location: 'chunks-gzip', gzip: true }));
    await storage.save('body.bin', BODY);
    await gzipped.save('style.css', TEXT);
  }, 120_000);
  afterAll(() => {
    storage.client.destroy();
    gzipped.client.destroy();
  });

  it('chunks(n) gives exactly n bytes per chunk except the last, and none changes later', async () => {
    for (const size of [MiB, 100_003]) {
      const held = await hold(storage.open('body.bin').chunks(size));
      expect(held).toHaveLength(Math.ceil(BODY.byteLength / size));
      expect(held.slice(0, -1).every(({ chunk }) => chunk.byteLength === size)).toBe(true);
      expectUnchanged(held, BODY);
    }
  }, 120_000);

  it('chunks(n, { exact: false }) hands on what arrives: at most n bytes, never empty, none changes later', async () => {
    for (const cap of [MiB, 10_000]) {
      const held = await hold(storage.open('body.bin').chunks(cap, { exact: false }));
      expect(held.every(({ chunk }) => chunk.byteLength > 0 && chunk.byteLength <= cap)).toBe(true);
      expectUnchanged(held, BODY);
    }
  }, 120_000);

  it('read(n) loops give back the file, n bytes at a time, and none changes later', async () => {
    const held = await hold(readLoop(storage, 'body.bin', 99_991));
    expect(held.slice(0, -1).every(({ chunk }) => chunk.byteLength === 99_991)).toBe(true);
    expectUnchanged(held, BODY);

    const file = storage.open('body.bin');
    expect((await file.read(0)).byteLength).toBe(0);
    expect((await file.read(3)).equals(BODY.subarray(0, 3))).toBe(true);
    expect((await file.read()).equals(BODY.subarray(3))).toBe(true);
    expect((await file.read(1)).byteLength).toBe(0);
    await file.close();
  }, 120_000);

  it('a gzipped object: both modes give the original bytes through gunzip', async () => {
    const exact = await hold(gzipped.open('style.css').chunks(65_537));
    expect(exact.slice(0, -1).every(({ chunk }) => chunk.byteLength === 65_537)).toBe(true);
    expectUnchanged(exact, TEXT);
    const passed = await hold(gzipped.open('style.css').chunks(MiB, { exact: false }));
    expect(passed.every(({ chunk }) => chunk.byteLength > 0 && chunk.byteLength <= MiB)).toBe(true);
    expectUnchanged(passed, TEXT);
  }, 120_000);
});
