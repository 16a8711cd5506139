/**
 * Issue 10, case 4: a reader left open keeps its GetObject body, and so its keep-alive socket,
 * and once the pool is used up every later call waits forever (deletions included). Here with a
 * pool of 4 sockets, so that 20 readers would exhaust it five times over: readers that are
 * closed, disposed, left early (chunks) or dropped and collected must each give their socket
 * back, and a body destroyed under a reader must fail the next read, not hang it.
 *
 * The agent's own counts are the measure: `sockets` are in use, `requests` wait for one.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { FieldFile, FileFieldDefinition, OperationAbortedError, StorageUnavailableError } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { collectUntil, until, within } from '../../../test-support/bounded-waits';
import { describeOnServers, type S3Server } from './support/servers';

const POOL = 4;
const READERS = 20;
/** How long a request may take before it counts as hung: a failsafe, far above a slow run. */
const HANG_MS = 30_000;

interface Pooled {
  storage: S3Storage;
  agent: Agent;
  /** Sockets the agent has handed out (requests in flight or bodies not finished). */
  busy(): number;
  /** Requests waiting for a socket. */
  queued(): number;
  stop(): void;
}

function count(sockets: NodeJS.ReadOnlyDict<unknown[]>): number {
  return Object.values(sockets).reduce((total, list) => total + (list?.length ?? 0), 0);
}

function pooledStorage(server: S3Server, location: string, extra: { gzip?: boolean } = {}): Pooled {
  const { endpointUrl, region, accessKeyId, secretAccessKey, bucket, location: prefix } = server.options({ location });
  const agent = new Agent({ keepAlive: true, maxSockets: POOL });
  const client = new S3Client({
    endpoint: endpointUrl,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  const storage = new S3Storage({ bucket, location: prefix, client, fileOverwrite: true, ...extra });
  return {
    storage,
    agent,
    busy: () => count(agent.sockets),
    queued: () => count(agent.requests),
    stop: () => client.destroy(),
  };
}

function fieldFileOn(storage: S3Storage, name: string): FieldFile {
  return new FieldFile({}, new FileFieldDefinition('Row', 'file', { storage }), name);
}

/** Later calls still get a socket: a save, a deletion and a whole read complete (bounded, so a hang fails). */
async function expectPoolUsable(pooled: Pooled): Promise<void> {
  await within(pooled.storage.save('spare.txt', 'spare'), HANG_MS, 'save after the readers');
  expect((await within(pooled.storage.open('spare.txt').read(), HANG_MS, 'read after the readers')).toString()).toBe('spare');
  await within(pooled.storage.delete('spare.txt'), HANG_MS, 'delete after the readers');
  expect(await until(() => pooled.busy() === 0)).toBe(true);
}

// Reads a byte and lets go of every reference, from its own frame: a variable or register of
// the test's frame could otherwise keep the reader reachable.
async function dropAfterOneByte(storage: S3Storage, name: string, kind: 'StorageFile' | 'FieldFile'): Promise<void> {
  const file = kind === 'StorageFile' ? storage.open(name) : fieldFileOn(storage, name);
  expect((await within(file.read(1), HANG_MS, `read(1) of a ${kind}`)).byteLength).toBe(1);
}

describeOnServers('S3 readers give their socket back', (server) => {
  // Far bigger than what the socket buffers hold, so a reader that took one byte has a body
  // still arriving: a small body can arrive whole with the first read, and its socket goes back
  // to the pool whatever the reader does (and a server may then time the idle connection out).
  const name = 'pool.bin';
  let pooled: Pooled;

  beforeAll(async () => {
    const setup = pooledStorage(server(), 'readers');
    try {
      await setup.storage.save(name, Buffer.alloc(16 * 1024 * 1024, 'abc'));
    } finally {
      setup.stop();
    }
  }, 120_000);
  beforeEach(() => {
    pooled = pooledStorage(server(), 'readers');
  });
  afterEach(() => pooled.stop());

  it('control: readers held open use up the pool and a deletion waits; close() frees a socket at once', async () => {
    const held = [];
    for (let i = 0; i < POOL; i += 1) {
      const file = pooled.storage.open(name);
      await within(file.read(1), HANG_MS, 'read(1)');
      held.push(file);
    }
    expect(pooled.busy()).toBe(POOL);
    let settled = false;
    const deletion = pooled.storage.delete('other.txt').finally(() => {
      settled = true;
    });
    // The deletion reaches the agent and waits there for a socket: the hang of the issue.
    expect(await until(() => pooled.queued() === 1)).toBe(true);
    expect(settled).toBe(false);
    await held[0].close();
    await within(deletion, HANG_MS, 'the deletion once a reader closed');
    for (const file of held) await file.close();
    expect(await until(() => pooled.busy() === 0)).toBe(true);
  }, 120_000);

  it(`${READERS} readers that read(1) and close() (StorageFile and FieldFile) leave the pool free`, async () => {
    for (let i = 0; i < READERS; i += 1) {
      const file = i % 2 === 0 ? pooled.storage.open(name) : fieldFileOn(pooled.storage, name);
      expect((await within(file.read(1), HANG_MS, `read(1) #${i}`)).toString()).toBe('a');
      await file.close();
    }
    await expectPoolUsable(pooled);
  }, 120_000);

  it(`${READERS} readers that read(1) and are dropped without close() are released once collected`, async () => {
    for (let i = 0; i < READERS; i += POOL) {
      for (let j = i; j < i + POOL; j += 1) await dropAfterOneByte(pooled.storage, name, j % 2 === 0 ? 'StorageFile' : 'FieldFile');
      // The dropped readers fill the pool (unless V8 already collected some on its own): the
      // next batch's reads wait until they are collected. Before the fix their sockets stayed
      // busy through every collection.
      expect(await collectUntil(() => pooled.busy() === 0)).toBe(true);
    }
    await expectPoolUsable(pooled);
  }, 120_000);

  it(`${READERS} await using blocks release their reader, also when the block throws`, async () => {
    for (let i = 0; i < READERS; i += 1) {
      if (i % 2 === 0) {
        await using file = pooled.storage.open(name);
        await within(file.read(1), HANG_MS, `read(1) #${i}`);
      } else {
        await using file = fieldFileOn(pooled.storage, name).open();
        await within(file.read(1), HANG_MS, `read(1) #${i}`);
      }
    }
    const failing = async () => {
      await using file = pooled.storage.open(name);
      await file.read(1);
      throw new Error('the caller failed mid-read');
    };
    for (let i = 0; i < POOL + 1; i += 1) await expect(failing()).rejects.toThrow('the caller failed mid-read');
    await expectPoolUsable(pooled);
  }, 120_000);

  it(`breaking out of chunks() or createReadStream() early, ${READERS} times each, releases every download`, async () => {
    for (let i = 0; i < READERS; i += 1) {
      const chunks = i % 2 === 0 ? pooled.storage.open(name).chunks(3) : fieldFileOn(pooled.storage, name).chunks(3);
      for await (const chunk of chunks) {
        expect(chunk.toString()).toBe('abc');
        break;
      }
    }
    for (let i = 0; i < READERS; i += 1) {
      const stream = await within(pooled.storage.createReadStream(name), HANG_MS, `createReadStream #${i}`);
      for await (const _chunk of stream) break;
    }
    await expectPoolUsable(pooled);
  }, 120_000);

  it('a body whose connection is cut fails the next read with StorageUnavailableError, and frees its socket', async () => {
    const file = pooled.storage.open(name);
    await within(file.read(1), HANG_MS, 'read(1)');
    expect(pooled.busy()).toBe(1);
    // What a read timeout or a server reset does to the connection under the body.
    for (const sockets of Object.values(pooled.agent.sockets)) for (const socket of sockets ?? []) socket.destroy();
    const failure = await within(file.read().then(() => undefined, (error: unknown) => error), HANG_MS, 'read after the cut');
    expect(failure).toBeInstanceOf(StorageUnavailableError);
    expect((failure as Error).message).toMatch(/download of 'pool\.bin' was interrupted/);
    await expect(within(file.read(1), HANG_MS, 'second read after the cut')).rejects.toBeInstanceOf(StorageUnavailableError);
    await file.close();
    await expectPoolUsable(pooled);
  }, 120_000);

  it('an aborted signal stops a reader between reads and frees its socket', async () => {
    const controller = new AbortController();
    const file = pooled.storage.open(name, 'r', { signal: controller.signal });
    await within(file.read(1), HANG_MS, 'read(1)');
    controller.abort(new Error('the request was cancelled'));
    await expect(within(file.read(1), HANG_MS, 'read after abort')).rejects.toBeInstanceOf(OperationAbortedError);
    expect(await until(() => pooled.busy() === 0)).toBe(true);
    await file.close();
  }, 120_000);

  it('a gzipped object: closing the gunzipped reader destroys the body under it', async () => {
    const gzipped = pooledStorage(server(), 'readers-gzip', { gzip: true });
    try {
      // Random text barely compresses, so the stored body is still arriving after the first read.
      const text = randomBytes(12 * 1024 * 1024).toString('base64');
      const css = await gzipped.storage.save('style.css', text);
      for (let i = 0; i < POOL * 2; i += 1) {
        const file = gzipped.storage.open(css);
        expect((await within(file.read(4), HANG_MS, 'read(4)')).toString()).toBe(text.slice(0, 4));
        expect(gzipped.busy()).toBe(1);
        await file.close();
        expect(await until(() => gzipped.busy() === 0)).toBe(true);
      }
      await expectPoolUsable(gzipped);
    } finally {
      gzipped.stop();
    }
  }, 120_000);
});
