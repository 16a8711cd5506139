/**
 * Uploads with the `transfer` settings on s3rver and radosgw, through S3FaultProxy: the part
 * size and the parts in flight are the configured ones (UploadPart requests counted, in flight
 * counted in the client), a LocalFile read by range gives the same bytes back (sha256), and a
 * failure mid-way, or a file that shrinks during its upload, aborts the multipart upload.
 */
import { LocalFile, randomSuffix, StorageUnavailableError } from '@filefield/core';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { collectUntil, until } from '../../../test-support/bounded-waits';
import { countInFlight } from './support/in-flight';
import { useFaultProxy } from './support/proxied';
import { describeOnServers, keysUnder, openUploads } from './support/servers';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describeOnServers('S3Storage transfer settings', (server) => {
  const fixture = useFaultProxy(server, 'transfer');

  /** A storage through the proxy, in its own location, with these transfer settings. */
  function storageWith(transfer: S3StorageOptions['transfer']) {
    const location = `transfer-${randomSuffix(6).toLowerCase()}`;
    const storage = new S3Storage({ ...server().options({ location }), endpointUrl: fixture.proxy.endpoint, transfer });
    return { storage, prefix: `${server().prefix}/${location}/`, log: recordRequests(storage.client), inFlight: countInFlight(storage.client) };
  }

  async function localFile(bytes: number): Promise<{ file: LocalFile; path: string; data: Buffer }> {
    const data = randomBytes(bytes);
    const path = join(fixture.directory, `body-${randomSuffix(6)}.bin`);
    await writeFile(path, data);
    return { file: new LocalFile(path), path, data };
  }

  async function stored(storage: S3Storage, name: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of storage.open(name).chunks(MiB, { exact: false })) hash.update(chunk);
    return hash.digest('hex');
  }

  /** The UploadPart requests of a log: part number and Content-Length of each attempt. */
  function uploadParts(log: ReturnType<typeof recordRequests>) {
    return log.requests
      .filter((request) => request.method === 'PUT' && 'partNumber' in request.query)
      .map((request) => ({ number: Number(request.query.partNumber), bytes: Number(request.headers['content-length']) }))
      .sort((a, b) => a.number - b.number);
  }

  /** Every CreateMultipartUpload the proxy saw was followed by an AbortMultipartUpload. */
  /** Every multipart upload under `prefix` was aborted, and no object or open upload is left. */
  async function expectNothingLeft(prefix: string): Promise<void> {
    const { created, aborted } = createdAndAborted(prefix);
    expect(created).toBeGreaterThanOrEqual(1);
    expect(aborted).toBe(created);
    expect(await keysUnder(server(), prefix)).toEqual([]);
    const open = await openUploads(server(), prefix);
    if (open !== undefined) expect(open).toBe(0);
  }

  function createdAndAborted(prefix: string) {
    const mine = fixture.proxy.requests.filter((request) => request.key.startsWith(prefix));
    return {
      created: mine.filter((request) => request.method === 'POST' && /(^|&)uploads(=|&|$)/.test(request.query)).length,
      aborted: mine.filter((request) => request.method === 'DELETE' && /(^|&)uploadId=/.test(request.query)).length,
    };
  }

  it('sends a LocalFile in ranged parts of partSize, at most concurrency in flight, and stores the same bytes', async () => {
    const { storage, log, inFlight } = storageWith({ multipartThreshold: PART, partSize: PART, concurrency: 2 });
    const { file, data } = await localFile(3 * PART + 12_345);
    expect(await storage.save('ranged.bin', file)).toBe('ranged.bin');
    expect(uploadParts(log)).toEqual([
      { number: 1, bytes: PART },
      { number: 2, bytes: PART },
      { number: 3, bytes: PART },
      { number: 4, bytes: 12_345 },
    ]);
    expect(inFlight.max('UploadPart')).toBeLessThanOrEqual(2);
    expect(await stored(storage, 'ranged.bin')).toBe(sha256(data));
  }, 120_000);

  it('sends a stream of unknown size in parts of partSize too', async () => {
    const { storage, log, inFlight } = storageWith({ partSize: 6 * MiB, concurrency: 3 });
    const { path, data } = await localFile(2 * 6 * MiB + 1);
    expect(await storage.save('stream.bin', Readable.from(createReadStream(path)))).toBe('stream.bin');
    expect(uploadParts(log).map((part) => part.bytes)).toEqual([6 * MiB, 6 * MiB, 1]);
    expect(inFlight.max('UploadPart')).toBeLessThanOrEqual(3);
    expect(await stored(storage, 'stream.bin')).toBe(sha256(data));
  }, 120_000);

  it('keeps exactly concurrency parts in flight while they are held, and finishes once they are let go', async () => {
    const { storage, log, inFlight } = storageWith({ multipartThreshold: PART, partSize: PART, concurrency: 3 });
    const { file, data } = await localFile(6 * PART + 7);
    // The first three parts are held; the upload can send no fourth one until one of them is done.
    const held = fixture.proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, times: 3, fault: { kind: 'stall' } });
    const saving = storage.save('held.bin', file);
    await held.waitForHits(3);
    expect(inFlight.now('UploadPart')).toBe(3);
    expect(uploadParts(log).map((part) => part.number)).toEqual([1, 2, 3]);
    // Their connections are reset: the SDK sends those parts again (their buffers), and the rest follow.
    fixture.proxy.heal();
    expect(await saving).toBe('held.bin');
    expect(inFlight.max('UploadPart')).toBeLessThanOrEqual(3);
    const numbers = uploadParts(log).map((part) => part.number);
    expect([...new Set(numbers)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await stored(storage, 'held.bin')).toBe(sha256(data));
  }, 120_000);

  it('sends a LocalFile above the threshold that fits in one part as one PutObject', async () => {
    const { storage, log } = storageWith({ multipartThreshold: 1, partSize: PART });
    const { file, data } = await localFile(100_000);
    await storage.save('one-part.bin', file);
    expect(log.requests.map((request) => request.method)).toEqual(['PUT']);
    expect(uploadParts(log)).toEqual([]);
    expect(await stored(storage, 'one-part.bin')).toBe(sha256(data));
  }, 60_000);

  it('aborts the multipart upload when a part fails mid-way, and leaves nothing', async () => {
    const { storage, prefix } = storageWith({ multipartThreshold: PART, partSize: PART, concurrency: 2 });
    const { file } = await localFile(4 * PART);
    const fault = fixture.proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, skip: 1, times: Infinity, fault: { kind: 'status', status: 500 } });
    const error = await storage.save('fails.bin', file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).message).toContain('HTTP 500');
    expect(fault.hits).toBeGreaterThan(0);
    await expectNothingLeft(prefix);
  }, 120_000);

  it('aborts the multipart upload of a writer dropped without close(), once it is garbage-collected', async () => {
    const { storage, prefix } = storageWith({ multipartThreshold: PART, partSize: PART, concurrency: 2 });
    const writeAndForget = async () => {
      const file = storage.open('forgotten.bin', 'w');
      // More than a part: the multipart upload is created and its first part sent.
      await file.write(randomBytes(PART + 1));
    };
    await writeAndForget();
    expect(await until(() => createdAndAborted(prefix).created === 1)).toBe(true);
    // Each round collects garbage once and lets the abort's request go out.
    expect(await collectUntil(() => createdAndAborted(prefix).aborted === 1, 300)).toBe(true);
    // The proxy counts the abort as it passes; the server may still be applying it.
    for (let poll = 0; poll < 100 && ((await openUploads(server(), prefix)) ?? 0) > 0; poll += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    await expectNothingLeft(prefix);
  }, 120_000);

  it('fails and aborts when the file shrinks during its upload', async () => {
    const { storage, prefix } = storageWith({ multipartThreshold: PART, partSize: PART, concurrency: 2 });
    const { file, path } = await localFile(4 * PART);
    const held = fixture.proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, times: 2, fault: { kind: 'stall' } });
    const saving = storage.save('shrinks.bin', file).catch((e: unknown) => e);
    await held.waitForHits(2);
    // Parts 1 and 2 were read; part 3 will be read once one of them is done.
    await truncate(path, PART + PART / 2);
    fixture.proxy.heal();
    const error = await saving;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ended at \d+ bytes while it was uploaded|is \d+ bytes now/);
    await expectNothingLeft(prefix);
  }, 120_000);
});
