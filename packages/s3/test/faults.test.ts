/**
 * The driver under faults, through S3FaultProxy on s3rver and radosgw: what the caller sees
 * and what stays in the bucket. Each case of the README's "Failure behaviour" table is here.
 */
import {
  PutBucketPolicyCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { LocalFile, OperationAbortedError, StorageUnavailableError, randomSuffix } from '@filefield/core';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { expectNoSecret } from './support/secrets';
import { useFaultProxy } from './support/proxied';
import { describeOnServers, emptyPrefix, keysUnder, openUploads, type S3Server } from './support/servers';

const MiB = 1024 * 1024;

describeOnServers('S3Storage under faults', (server) => {
  const fixture = useFaultProxy(server, 'faults');

  /** A storage that talks to the server through the proxy, in its own location. */
  function storageThroughProxy(overrides: Partial<S3StorageOptions> = {}) {
    const location = `faults-${randomSuffix(6).toLowerCase()}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const options = server().options({ location, ...overrides, endpointUrl: fixture.proxy.endpoint });
    const client = new S3Client({
      endpoint: fixture.proxy.endpoint,
      region: options.region,
      forcePathStyle: true,
      credentials: { accessKeyId: options.accessKeyId!, secretAccessKey: options.secretAccessKey! },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({ httpAgent: agent }),
      // The SDK prints a warning for each failed streamed upload, which these tests make on purpose.
      logger: { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
    const { accessKeyId: _id, secretAccessKey: _secret, region: _region, endpointUrl: _endpoint, addressingStyle: _style, ...storageOptions } = options;
    // Unique names (django-storages' S3 default is to overwrite): the exclusive path is the one at risk.
    const storage = new S3Storage({ fileOverwrite: false, ...storageOptions, client, conditionalWrites: server().honoursConditionalWrites });
    return { storage, agent, prefix: `${server().prefix}/${location}/` };
  }

  /** No error of these faults carries the secret key (s3rver's is also its access key id, which messages may name). */
  function secretFree(error: unknown): void {
    if (server().label !== 's3rver') expectNoSecret(error, server().secretAccessKey);
  }

  /** Busy sockets of an agent, once the aborted requests' sockets have closed (bounded by ticks, not time). */
  async function busySockets(agent: Agent): Promise<number> {
    for (let tick = 0; tick < 200; tick += 1) {
      const busy = Object.values(agent.sockets).reduce((sum, list) => sum + (list?.length ?? 0), 0);
      if (busy === 0) return 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return Object.values(agent.sockets).reduce((sum, list) => sum + (list?.length ?? 0), 0);
  }

  async function localFile(bytes: number): Promise<{ file: LocalFile; data: Buffer }> {
    const data = randomBytes(bytes);
    const path = join(fixture.directory, `body-${randomSuffix(6)}.bin`);
    await writeFile(path, data);
    return { file: new LocalFile(path), data };
  }

  describe('a connection cut during a download', () => {
    it('fails createReadStream(), chunks() and read() with StorageUnavailableError, never an SDK error', async () => {
      const { storage } = storageThroughProxy();
      await storage.save('cut.bin', randomBytes(4 * MiB));
      const readers: Array<[string, () => Promise<unknown>]> = [
        [
          'createReadStream',
          async () => {
            for await (const _chunk of await storage.createReadStream('cut.bin'));
          },
        ],
        [
          'chunks',
          async () => {
            for await (const _chunk of storage.open('cut.bin').chunks(64 * 1024));
          },
        ],
        ['read', () => storage.open('cut.bin').read()],
      ];
      for (const [what, reader] of readers) {
        const cut = fixture.proxy.inject({ match: { method: 'GET' }, fault: { kind: 'reset-during-response', afterBytes: 100_000 } });
        const error = await reader().then(
          () => new Error('read to the end'),
          (failure: unknown) => failure,
        );
        expect(cut.hits).toBe(1);
        expect({ what, error }).toEqual({ what, error: expect.any(StorageUnavailableError) });
        expect((error as Error).message).toMatch(/download of 'cut\.bin' was interrupted .*; open the file again to read it/);
        secretFree(error);
      }
      expect((await storage.open('cut.bin').read()).byteLength).toBe(4 * MiB);
    }, 60_000);
  });

  describe('cancellation', () => {
    it('aborts a small save whose PUT hangs: OperationAbortedError, no object, no busy socket', async () => {
      const { storage, agent, prefix } = storageThroughProxy();
      const stall = fixture.proxy.inject({ match: { method: 'PUT' }, fault: { kind: 'stall' } });
      const controller = new AbortController();
      const saving = storage.save('hung.txt', 'hello', { signal: controller.signal });
      await stall.waitForHits();
      controller.abort(new Error('user gave up'));
      const error = await saving.catch((e: unknown) => e);
      secretFree(error);
      expect(error).toBeInstanceOf(OperationAbortedError);
      expect(error).toMatchObject({ code: 'E_ABORTED' });
      expect((error as Error).message).toContain("save 'hung.txt'");
      expect(await busySockets(agent)).toBe(0);
      expect(await keysUnder(server(), prefix)).toEqual([]);
    }, 60_000);

    it('aborts a multipart save mid-way: the upload is aborted on the server and no part is left open', async () => {
      const { storage, agent, prefix } = storageThroughProxy({ multipartThreshold: 5 * MiB, multipartPartSize: 5 * MiB });
      // The second part hangs; the first one went through.
      const stall = fixture.proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, skip: 1, fault: { kind: 'stall' } });
      const controller = new AbortController();
      const { file } = await localFile(16 * MiB);
      const saving = storage.save('big.bin', file, { signal: controller.signal });
      await stall.waitForHits();
      controller.abort();
      await expect(saving).rejects.toBeInstanceOf(OperationAbortedError);
      expect(await busySockets(agent)).toBe(0);
      expect(await keysUnder(server(), prefix)).toEqual([]);
      const open = await openUploads(server(), prefix);
      if (open !== undefined) expect(open).toBe(0);
    }, 120_000);

    it('aborts a read whose GET hangs, and a download in the middle of its body', async () => {
      const { storage, agent } = storageThroughProxy();
      await storage.save('r.bin', randomBytes(4 * MiB));
      const stall = fixture.proxy.inject({ match: { method: 'GET' }, fault: { kind: 'stall' } });
      const hung = new AbortController();
      const reading = storage.open('r.bin', 'r', { signal: hung.signal }).read();
      await stall.waitForHits();
      hung.abort();
      await expect(reading).rejects.toBeInstanceOf(OperationAbortedError);
      fixture.proxy.clear();

      const midway = new AbortController();
      const file = storage.open('r.bin', 'r', { signal: midway.signal });
      expect((await file.read(10)).byteLength).toBe(10);
      midway.abort();
      await expect(file.read()).rejects.toBeInstanceOf(OperationAbortedError);
      await file.close();
      expect(await busySockets(agent)).toBe(0);
      // The storage is usable afterwards.
      expect((await storage.open('r.bin').read(3)).byteLength).toBe(3);
    }, 60_000);

    it('aborts delete and deleteMany whose requests hang; the files stay', async () => {
      const { storage, agent, prefix } = storageThroughProxy();
      await storage.save('d1.txt', '1');
      await storage.save('d2.txt', '2');
      const stall = fixture.proxy.inject({ match: { method: 'DELETE' }, fault: { kind: 'stall' } });
      const one = new AbortController();
      const deleting = storage.delete('d1.txt', { signal: one.signal });
      await stall.waitForHits();
      one.abort();
      await expect(deleting).rejects.toBeInstanceOf(OperationAbortedError);

      fixture.proxy.clear();
      const bulkStall = fixture.proxy.inject({ match: { method: 'POST', query: 'delete' }, fault: { kind: 'stall' } });
      const many = new AbortController();
      const deletingMany = storage.deleteMany(['d1.txt', 'd2.txt'], { signal: many.signal });
      await bulkStall.waitForHits();
      many.abort();
      const result = await deletingMany;
      expect(result.deleted).toEqual([]);
      expect(result.failed.map((failure) => failure.name).sort()).toEqual(['d1.txt', 'd2.txt']);
      for (const failure of result.failed) expect(failure.error).toBeInstanceOf(OperationAbortedError);
      expect(await busySockets(agent)).toBe(0);
      expect(await keysUnder(server(), prefix)).toEqual(['d1.txt', 'd2.txt']);
    }, 60_000);

    it('refuses at once with a signal that already fired, and sends nothing', async () => {
      const { storage } = storageThroughProxy();
      const before = fixture.proxy.requests.length;
      const signal = AbortSignal.abort();
      await expect(storage.save('never.txt', 'x', { signal })).rejects.toBeInstanceOf(OperationAbortedError);
      await expect(storage.delete('never.txt', { signal })).rejects.toBeInstanceOf(OperationAbortedError);
      await expect(storage.open('never.txt', 'r', { signal }).read()).rejects.toBeInstanceOf(OperationAbortedError);
      await expect(storage.deleteMany(['never.txt'], { signal })).rejects.toBeInstanceOf(OperationAbortedError);
      expect(fixture.proxy.requests.length).toBe(before);
    }, 30_000);
  });

  describe('retries', () => {
    it('retries a LocalFile save after a 503 SlowDown by reading the file again', async () => {
      const { storage, prefix } = storageThroughProxy();
      const { file, data } = await localFile(64 * 1024);
      const fault = fixture.proxy.inject({ match: { method: 'PUT', key: /retry\.bin$/ }, fault: { kind: 'status', status: 503 } });
      const stored = await storage.save('retry.bin', file);
      expect(stored).toBe('retry.bin');
      expect(fault.hits).toBe(1);
      expect((await storage.open(stored).read()).equals(data)).toBe(true);
      expect(await keysUnder(server(), prefix)).toEqual(['retry.bin']);
    }, 60_000);

    it('retries a LocalFile save after a connection reset during the request body', async () => {
      const { storage, prefix } = storageThroughProxy();
      const { file, data } = await localFile(256 * 1024);
      const fault = fixture.proxy.inject({ match: { method: 'PUT', key: /reset\.bin$/ }, fault: { kind: 'reset-during-request', afterBytes: 1000 } });
      const stored = await storage.save('reset.bin', file);
      expect(fault.hits).toBe(1);
      expect((await storage.open(stored).read()).equals(data)).toBe(true);
      expect(await keysUnder(server(), prefix)).toEqual(['reset.bin']);
    }, 60_000);

    it('gives up after the configured attempts with StorageUnavailableError and leaves nothing', async () => {
      const { storage, prefix } = storageThroughProxy();
      const { file } = await localFile(1024);
      const fault = fixture.proxy.inject({ match: { method: 'PUT' }, times: Infinity, fault: { kind: 'status', status: 503 } });
      const error = await storage.save('down.bin', file).catch((e: unknown) => e);
      secretFree(error);
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as Error).message).toMatch(/^S3 save on '.*down\.bin'/);
      // The SDK's maxAttempts (3) bounds the driver's own retries of a stream.
      expect(fault.hits).toBe(3);
      expect(await keysUnder(server(), prefix)).toEqual([]);
    }, 60_000);

    it('reports the part failure, not the abort, when a multipart upload fails (s3rver cannot abort)', async () => {
      const { storage, prefix } = storageThroughProxy({ multipartThreshold: 5 * MiB, multipartPartSize: 5 * MiB });
      fixture.proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, times: Infinity, fault: { kind: 'status', status: 500 } });
      const error = await storage.save('parts.bin', randomBytes(12 * MiB)).catch((e: unknown) => e);
      secretFree(error);
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as Error).message).toContain('HTTP 500');
      expect((error as Error).message).not.toContain('MethodNotAllowed');
      expect(await keysUnder(server(), prefix)).toEqual([]);
      const open = await openUploads(server(), prefix);
      if (open !== undefined) expect(open).toBe(0);
    }, 120_000);
  });

  describe('a lost response', () => {
    it('to a PUT makes one object under the requested name, for a Buffer and for a LocalFile', async () => {
      const { storage, prefix } = storageThroughProxy();
      fixture.proxy.inject({ match: { method: 'PUT', key: /lost-buffer\.txt$/ }, fault: { kind: 'lost-response' } });
      expect(await storage.save('lost-buffer.txt', Buffer.from('buffer'))).toBe('lost-buffer.txt');
      const { file, data } = await localFile(10_000);
      fixture.proxy.inject({ match: { method: 'PUT', key: /lost-file\.bin$/ }, fault: { kind: 'lost-response' } });
      expect(await storage.save('lost-file.bin', file)).toBe('lost-file.bin');
      expect((await storage.open('lost-file.bin').read()).equals(data)).toBe(true);
      expect(await keysUnder(server(), prefix)).toEqual(['lost-buffer.txt', 'lost-file.bin']);
    }, 60_000);

    it('to the claim of a multipart upload makes one object under the requested name', async () => {
      const { storage, prefix } = storageThroughProxy({ multipartThreshold: 5 * MiB, multipartPartSize: 5 * MiB });
      const data = randomBytes(11 * MiB);
      fixture.proxy.inject({ match: { method: 'PUT', key: /claimed\.bin$/ }, fault: { kind: 'lost-response' } });
      expect(await storage.save('claimed.bin', data)).toBe('claimed.bin');
      expect((await storage.open('claimed.bin').read()).equals(data)).toBe(true);
      expect(await keysUnder(server(), prefix)).toEqual(['claimed.bin']);
      const open = await openUploads(server(), prefix);
      if (open !== undefined) expect(open).toBe(0);
    }, 120_000);

    it('still moves a save to a free name when another writer holds the name', async () => {
      const { storage } = storageThroughProxy();
      await storage.save('taken.txt', 'first');
      fixture.proxy.inject({ match: { method: 'PUT', key: /taken\.txt$/ }, fault: { kind: 'lost-response' } });
      const second = await storage.save('taken.txt', 'second');
      expect(second).toMatch(/^taken_[A-Za-z0-9]{7}\.txt$/);
      expect((await storage.open('taken.txt').read()).toString()).toBe('first');
      expect((await storage.open(second).read()).toString()).toBe('second');
    }, 60_000);
  });

  describe('exact requests', () => {
    it('names the caller\'s call in the first error, not an internal step', async () => {
      if (!server().verifiesSignatures) return;
      const storage = new S3Storage({ ...server().options(), fileOverwrite: false, secretAccessKey: 'wrong-secret-for-the-first-error', conditionalWrites: 'auto' });
      const error = await storage.save('first.txt', 'x').catch((e: unknown) => e);
      secretFree(error);
      expectNoSecret(error, 'wrong-secret-for-the-first-error');
      expect((error as Error).message).toMatch(/^S3 refused save on /);
      expect((error as Error).message).not.toContain('probe');
    }, 30_000);
  });
});

describeOnServers('S3Storage on a bucket whose policy demands encryption', (server) => {
  let bucket: string;

  beforeAll(async () => {
    if (server().kmsKeyId === undefined) return;
    bucket = `filefield-sse-${randomSuffix(8).toLowerCase()}`;
    await server().raw.send(new CreateBucketCommand({ Bucket: bucket }));
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:PutObject',
          Resource: `arn:aws:s3:::${bucket}/*`,
          Condition: { Null: { 's3:x-amz-server-side-encryption': 'true' } },
        },
      ],
    });
    await server().raw.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy }));
  });
  afterAll(async () => {
    if (bucket === undefined) return;
    await emptyPrefix(server().raw, bucket, '');
    await server().raw.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  it('probes, claims and uploads with the configured SSE headers', async () => {
    const current: S3Server = server();
    if (current.kmsKeyId === undefined) return; // s3rver has no KMS and no bucket policies
    const storage = new S3Storage({
      ...current.options({ location: '' }),
      bucket,
      fileOverwrite: false,
      encryption: 'aws:kms',
      kmsKeyId: current.kmsKeyId,
      conditionalWrites: 'auto',
      multipartThreshold: 5 * MiB,
    });
    const log = recordRequests(storage.client);
    expect(await storage.save('a.txt', 'encrypted')).toBe('a.txt');
    expect(await storage.save('a.txt', 'again')).toMatch(/^a_[A-Za-z0-9]{7}\.txt$/);
    // The probe (two PUTs), the first save and the retry under a free name.
    const puts = log.requests.filter((request) => request.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(3);
    for (const put of puts) expect(put.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    // A multipart upload claims its name first, and the claim carries the headers too. (radosgw
    // then refuses CreateMultipartUpload under this policy even with the header: the save fails,
    // typed, and its claim is removed again.)
    log.reset();
    const multipart = await storage.save('big.bin', randomBytes(6 * MiB)).then(
      (name) => ({ name }),
      (error: unknown) => ({ error }),
    );
    const claim = log.requests.find((request) => request.method === 'PUT' && request.path.endsWith('/big.bin'));
    expect(claim?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(claim?.headers['if-none-match']).toBe('*');
    if ('error' in multipart) {
      expect(multipart.error).toMatchObject({ code: 'E_PERMISSION_DENIED' });
      expect(log.requests.some((request) => request.method === 'POST' && 'uploads' in request.query)).toBe(true);
      expect(await storage.exists('big.bin')).toBe(false);
    } else {
      expect(multipart.name).toBe('big.bin');
    }
    log.restore();
    // A bare PUT is refused by the policy: the test would catch a request without the headers.
    const bare = new S3Storage({ ...current.options({ location: '' }), bucket, conditionalWrites: true });
    await expect(bare.save('bare.txt', 'x')).rejects.toMatchObject({ code: 'E_PERMISSION_DENIED' });
  }, 60_000);
});
