/**
 * The fault proxy of `@filefield/s3/testing`: what an S3 client sees for each fault, and what the
 * server holds afterwards, on s3rver and on the external server (radosgw in CI); then its
 * behaviour on the wire, against bare servers that record exactly what reached them.
 */
import {
  CreateMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3FaultProxy, type S3FaultRule } from '@filefield/s3/testing';
import { createHash, randomBytes } from 'node:crypto';
import { type IncomingMessage, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, type Server as NetServer, type Socket, createServer as createNetServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { type S3Server, describeOnServers } from './support/servers';

const TIMEOUT = 60_000;
const BIG_TIMEOUT = 180_000;

/** A raw SDK client through the proxy: path-style, no retries, no aws-chunked bodies. */
function clientVia(server: S3Server, endpoint: string): S3Client {
  const options = server.options();
  return new S3Client({
    endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId!, secretAccessKey: options.secretAccessKey! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

/** The error of a call that must fail on the connection, with no HTTP answer. */
async function connectionError(call: Promise<unknown>): Promise<Error & { code?: string; $metadata?: { httpStatusCode?: number } }> {
  const error = await call.then(
    () => {
      throw new Error('expected a connection error, but the call succeeded');
    },
    (e: unknown) => e as Error & { code?: string; $metadata?: { httpStatusCode?: number } },
  );
  expect(error.$metadata?.httpStatusCode).toBeUndefined();
  expect(`${error.code} ${error.message}`).toMatch(/ECONNRESET|EPIPE|socket hang up/);
  return error;
}

async function s3Error(call: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  return call.then(
    () => {
      throw new Error('expected an S3 error, but the call succeeded');
    },
    (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
  );
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describeOnServers('S3FaultProxy', (server) => {
  let proxy: S3FaultProxy;
  let client: S3Client;
  let counter = 0;

  beforeAll(async () => {
    proxy = await S3FaultProxy.start({ target: server().endpoint });
    client = clientVia(server(), proxy.endpoint);
  }, TIMEOUT);
  afterEach(() => proxy.clear());
  afterAll(async () => {
    client?.destroy();
    await proxy?.stop();
  }, TIMEOUT);

  /** A fresh key under this file's prefix. */
  const newKey = (name: string) => `${server().prefix}/${++counter}-${name}`;
  const bucket = () => server().bucket;
  const put = (Key: string, Body: Buffer | string, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) =>
    client.send(new PutObjectCommand({ Bucket: bucket(), Key, Body, ...extra }));
  /** The stored size, asked of the server directly; undefined when the key does not exist. */
  const storedSize = (Key: string) =>
    server()
      .raw.send(new HeadObjectCommand({ Bucket: bucket(), Key }))
      .then(
        (head) => head.ContentLength,
        (error: Error) => {
          if (error.name === 'NotFound') return undefined;
          throw error;
        },
      );
  const storedBody = async (Key: string) => readAll((await server().raw.send(new GetObjectCommand({ Bucket: bucket(), Key }))).Body as AsyncIterable<Uint8Array>);
  const seed = async (Key: string, body: Buffer | string) => {
    await server().raw.send(new PutObjectCommand({ Bucket: bucket(), Key, Body: body }));
  };
  const since = (start: number) => proxy.requests.slice(start);

  it('forwards every request unchanged by default and records it', async () => {
    const start = proxy.requests.length;
    const key = newKey('plain name+é.txt');
    const body = randomBytes(4096);
    await put(key, body, { ContentType: 'application/x-test', Metadata: { colour: 'blue' } });
    const got = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    expect(sha256(await readAll(got.Body as AsyncIterable<Uint8Array>))).toBe(sha256(body));
    expect(got.ContentType).toBe('application/x-test');
    expect(got.Metadata).toEqual({ colour: 'blue' });
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: key }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual([key]);
    await client.send(new DeleteObjectCommand({ Bucket: bucket(), Key: key }));
    await expect(client.send(new HeadObjectCommand({ Bucket: bucket(), Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await storedSize(key)).toBeUndefined();
    expect(since(start)).toEqual([
      { method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', status: 200 },
      { method: 'GET', bucket: bucket(), key, query: 'x-id=GetObject', status: 200 },
      expect.objectContaining({ method: 'GET', bucket: bucket(), key: '', status: 200 }),
      { method: 'DELETE', bucket: bucket(), key, query: 'x-id=DeleteObject', status: 204 },
      { method: 'HEAD', bucket: bucket(), key, query: '', status: 404 },
    ]);
    expect(since(start)[2].query).toContain('list-type=2');
  }, TIMEOUT);

  it('status: the proxy answers an S3 error itself; the server never sees the request', async () => {
    const key = newKey('status.txt');
    const start = proxy.requests.length;
    const slowDown = proxy.inject({ fault: { kind: 'status', status: 503 } });
    const error = await s3Error(put(key, 'never stored'));
    expect(error.name).toBe('SlowDown');
    expect(error.message).toBe('Please reduce your request rate.');
    expect(error.$metadata?.httpStatusCode).toBe(503);
    expect(slowDown.hits).toBe(1);
    expect(await storedSize(key)).toBeUndefined();
    expect(since(start)).toEqual([{ method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', fault: 'status', status: 503 }]);

    const readable = newKey('readable.txt');
    await seed(readable, 'here');
    const get = () => client.send(new GetObjectCommand({ Bucket: bucket(), Key: readable }));
    proxy.inject({ fault: { kind: 'status', status: 500 } });
    expect(await s3Error(get())).toMatchObject({ name: 'InternalError', $metadata: { httpStatusCode: 500 } });
    proxy.inject({ fault: { kind: 'status', status: 409 } });
    expect(await s3Error(get())).toMatchObject({ name: 'InjectedFault', $metadata: { httpStatusCode: 409 } });
    proxy.inject({ fault: { kind: 'status', status: 403, code: 'AccessDenied', message: 'nope <&>' } });
    expect(await s3Error(get())).toMatchObject({ name: 'AccessDenied', message: 'nope <&>', $metadata: { httpStatusCode: 403 } });
    // The rules are spent: the next request reaches the server again.
    expect(await readAll((await get()).Body as AsyncIterable<Uint8Array>)).toEqual(Buffer.from('here'));
  }, TIMEOUT);

  it('status on a large upload with Expect: 100-continue: the client gets the error without sending its body', async () => {
    const key = newKey('refused-large.bin');
    proxy.inject({ fault: { kind: 'status', status: 503 }, match: { header: { name: 'expect', value: '100-continue' } } });
    // 3 MiB: the SDK sends Expect: 100-continue from 2 MiB on.
    const error = await s3Error(put(key, randomBytes(3 * 1024 * 1024)));
    expect(error).toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    expect(await storedSize(key)).toBeUndefined();
    // The connection was closed (its state was unknown); the next request gets a fresh one.
    await put(key, 'after');
    expect(await storedSize(key)).toBe(5);
  }, TIMEOUT);

  it('reset-before: the client gets a connection error; the server never sees the request', async () => {
    const key = newKey('reset-before.txt');
    const start = proxy.requests.length;
    const fault = proxy.inject({ fault: { kind: 'reset-before' }, match: { method: 'PUT' } });
    await connectionError(put(key, 'never stored'));
    expect(fault.hits).toBe(1);
    expect(await storedSize(key)).toBeUndefined();
    expect(since(start)).toEqual([{ method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', fault: 'reset-before' }]);
    await put(key, 'second try');
    expect(await storedSize(key)).toBe(10);
  }, TIMEOUT);

  it('lost-response on a PUT: the client gets a connection error, yet the server stored the object', async () => {
    const key = newKey('lost.txt');
    const start = proxy.requests.length;
    proxy.inject({ fault: { kind: 'lost-response' } });
    await connectionError(put(key, 'applied but unanswered'));
    expect((await storedBody(key)).toString()).toBe('applied but unanswered');
    expect(since(start)).toEqual([{ method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', fault: 'lost-response', status: 200 }]);
  }, TIMEOUT);

  it('lost-response on a DELETE: the client gets a connection error, yet the object is gone', async () => {
    const key = newKey('lost-delete.txt');
    await seed(key, 'doomed');
    proxy.inject({ fault: { kind: 'lost-response' }, match: { method: 'DELETE' } });
    await connectionError(client.send(new DeleteObjectCommand({ Bucket: bucket(), Key: key })));
    expect(await storedSize(key)).toBeUndefined();
  }, TIMEOUT);

  it('reset-during-request cuts an upload: a connection error, and the server never holds the whole object', async () => {
    const key = newKey('cut-upload.bin');
    const body = randomBytes(64 * 1024);
    const start = proxy.requests.length;
    proxy.inject({ fault: { kind: 'reset-during-request', afterBytes: 1000 } });
    await connectionError(put(key, body));
    expect(since(start)).toEqual([{ method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', fault: 'reset-during-request' }]);
    const size = await storedSize(key);
    if (server().label === 's3rver') {
      // s3rver keeps what arrived of a cut body as the object (between 0 and afterBytes bytes).
      expect(size === undefined || size <= 1000).toBe(true);
    } else {
      expect(size).toBeUndefined();
    }
  }, TIMEOUT);

  it('reset-during-response on a GET: the command resolves, and its body breaks off after afterBytes', async () => {
    const key = newKey('cut-download.bin');
    const body = randomBytes(64 * 1024);
    await seed(key, body);
    proxy.inject({ fault: { kind: 'reset-during-response', afterBytes: 1000 } });
    const got = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    expect(got.ContentLength).toBe(body.length);
    const received: Buffer[] = [];
    const error = await (async () => {
      for await (const chunk of got.Body as AsyncIterable<Uint8Array>) received.push(Buffer.from(chunk));
    })().then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error).toBeDefined();
    expect(`${error?.code} ${error?.message}`).toMatch(/ECONNRESET|aborted/);
    expect(Buffer.concat(received)).toEqual(body.subarray(0, 1000));
  }, TIMEOUT);

  it('reset-during-response on a PUT: the client gets a connection error, yet the server stored the object', async () => {
    const key = newKey('cut-answer.txt');
    const fault = proxy.inject({ fault: { kind: 'reset-during-response' }, match: { method: 'PUT' } });
    await connectionError(put(key, 'stored, answer cut'));
    expect(fault.hits).toBe(1);
    expect((await storedBody(key)).toString()).toBe('stored, answer cut');
  }, TIMEOUT);

  it('stall with ms: the request is held that long, then forwarded and answered', async () => {
    const key = newKey('slow.txt');
    const start = proxy.requests.length;
    proxy.inject({ fault: { kind: 'stall', ms: 400 }, match: { method: 'PUT' } });
    const began = performance.now();
    await put(key, 'late');
    expect(performance.now() - began).toBeGreaterThanOrEqual(395);
    expect(await storedSize(key)).toBe(4);
    expect(since(start)).toEqual([{ method: 'PUT', bucket: bucket(), key, query: 'x-id=PutObject', fault: 'stall', status: 200 }]);
  }, TIMEOUT);

  it('stall without ms: the request is held until heal(), then the client gets a connection error', async () => {
    const key = newKey('held.txt');
    const fault = proxy.inject({ fault: { kind: 'stall' }, match: { method: 'PUT' } });
    let settled = false;
    const pending = put(key, 'held').finally(() => {
      settled = true;
    });
    await fault.waitForHits(1);
    expect(proxy.openConnections()).toBeGreaterThanOrEqual(1);
    // Nothing can answer a held request: it is still pending however long this takes.
    await server().raw.send(new HeadObjectCommand({ Bucket: bucket(), Key: key })).catch(() => undefined);
    expect(settled).toBe(false);
    proxy.heal();
    await connectionError(pending);
    expect(await storedSize(key)).toBeUndefined();
    // heal() kept the rule, but its one hit is spent.
    await put(key, 'free');
    expect(await storedSize(key)).toBe(4);
  }, TIMEOUT);

  it('clear() releases stalled requests and removes every rule', async () => {
    const key = newKey('cleared.txt');
    const stall = proxy.inject({ fault: { kind: 'stall' }, times: Infinity });
    const timed = proxy.inject({ fault: { kind: 'stall', ms: 600_000 }, times: Infinity });
    const held = put(key, 'x');
    await stall.waitForHits(1);
    proxy.clear();
    await connectionError(held);
    expect(timed.hits).toBe(0);
    await put(key, 'free');
    expect(await storedSize(key)).toBe(4);
    expect(stall.hits).toBe(1);
  }, TIMEOUT);

  it('matches on method and key (string or RegExp)', async () => {
    const text = newKey('doc.txt');
    const binary = newKey('doc.bin');
    const byKey = proxy.inject({ fault: { kind: 'status', status: 500 }, match: { method: 'put', key: /\.bin$/ }, times: Infinity });
    await put(text, 'text');
    expect(await s3Error(put(binary, 'binary'))).toMatchObject({ name: 'InternalError' });
    await seed(binary, 'binary');
    await client.send(new GetObjectCommand({ Bucket: bucket(), Key: binary })); // GET: not matched
    expect(byKey.hits).toBe(1);
    byKey.remove();
    proxy.inject({ fault: { kind: 'status', status: 503 }, match: { key: text } });
    await client.send(new HeadObjectCommand({ Bucket: bucket(), Key: binary }));
    expect(await s3Error(client.send(new GetObjectCommand({ Bucket: bucket(), Key: text })))).toMatchObject({ name: 'SlowDown' });
    proxy.inject({ fault: { kind: 'status', status: 503 }, match: { bucket: 'another-bucket' } });
    await client.send(new HeadObjectCommand({ Bucket: bucket(), Key: text }));
  }, TIMEOUT);

  it('matches on a query parameter: only CreateMultipartUpload gets the fault', async () => {
    const key = newKey('multipart.bin');
    const fault = proxy.inject({ fault: { kind: 'status', status: 503 }, match: { query: 'uploads' } });
    await put(key, 'single');
    expect(await s3Error(client.send(new CreateMultipartUploadCommand({ Bucket: bucket(), Key: key })))).toMatchObject({ name: 'SlowDown' });
    expect(fault.hits).toBe(1);
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket(), Key: key }));
    expect(created.UploadId).toBeTruthy();
    // s3rver does not implement AbortMultipartUpload (405 MethodNotAllowed).
    if (server().label !== 's3rver') await client.send(new AbortMultipartUploadCommand({ Bucket: bucket(), Key: key, UploadId: created.UploadId }));
  }, TIMEOUT);

  it('matches on a header, present or with a value', async () => {
    const key = newKey('conditional.txt');
    const conditional = proxy.inject({ fault: { kind: 'status', status: 412, code: 'PreconditionFailed' }, match: { header: { name: 'If-None-Match' } }, times: Infinity });
    await put(key, 'plain');
    expect(await s3Error(put(key, 'conditional', { IfNoneMatch: '*' }))).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(conditional.hits).toBe(1);
    conditional.remove();
    proxy.inject({ fault: { kind: 'reset-before' }, match: { header: { name: 'content-type', value: /^text\// } } });
    await put(key, 'json', { ContentType: 'application/json' });
    await connectionError(put(key, 'text', { ContentType: 'text/plain' }));
    expect((await storedBody(key)).toString()).toBe('json');
  }, TIMEOUT);

  it('times and skip: lets `skip` matching requests through, faults the next `times`, then forwards again', async () => {
    const key = newKey('counted.txt');
    await seed(key, 'counted');
    const get = () =>
      client.send(new GetObjectCommand({ Bucket: bucket(), Key: key })).then(
        () => 'ok',
        (error: Error) => error.name,
      );
    const fault = proxy.inject({ fault: { kind: 'status', status: 503 }, match: { method: 'GET' }, skip: 1, times: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i += 1) outcomes.push(await get());
    expect(outcomes).toEqual(['ok', 'SlowDown', 'SlowDown', 'ok']);
    expect(fault.hits).toBe(2);
  }, TIMEOUT);

  it('tries rules in the order injected; a spent rule gives way to the next; remove() ends an endless one', async () => {
    const key = newKey('ordered.txt');
    await seed(key, 'ordered');
    const get = () =>
      client.send(new GetObjectCommand({ Bucket: bucket(), Key: key })).then(
        () => 'ok',
        (error: Error) => error.name,
      );
    const first = proxy.inject({ fault: { kind: 'status', status: 500 } });
    const endless = proxy.inject({ fault: { kind: 'status', status: 503 }, times: Infinity });
    expect([await get(), await get(), await get()]).toEqual(['InternalError', 'SlowDown', 'SlowDown']);
    expect([first.hits, endless.hits]).toEqual([1, 2]);
    endless.remove();
    expect(await get()).toBe('ok');
  }, TIMEOUT);

  it('passes a 20 MiB PutObject and GetObject through unchanged', async () => {
    const key = newKey('large.bin');
    const body = randomBytes(20 * 1024 * 1024);
    const start = proxy.requests.length;
    await put(key, body);
    expect(await storedSize(key)).toBe(body.length);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
    expect(sha256(await readAll(got.Body as AsyncIterable<Uint8Array>))).toBe(sha256(body));
    expect(sha256(await storedBody(key))).toBe(sha256(body));
    expect(since(start).map((request) => [request.method, request.status, request.fault])).toEqual([
      ['PUT', 200, undefined],
      ['GET', 200, undefined],
    ]);
  }, BIG_TIMEOUT);

  it('stop() resolves while it holds a stalled request and a kept-alive connection', async () => {
    const own = await S3FaultProxy.start({ target: server().endpoint });
    const ownClient = clientVia(server(), own.endpoint);
    try {
      const key = newKey('stopped.txt');
      await ownClient.send(new PutObjectCommand({ Bucket: bucket(), Key: newKey('idle.txt'), Body: 'idle' }));
      const fault = own.inject({ fault: { kind: 'stall' } });
      const held = ownClient.send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: 'held' }));
      await fault.waitForHits(1);
      expect(own.openConnections()).toBeGreaterThanOrEqual(1);
      await own.stop();
      expect(own.openConnections()).toBe(0);
      await connectionError(held);
      await own.stop(); // idempotent
      expect(await storedSize(key)).toBeUndefined();
    } finally {
      ownClient.destroy();
      await own.stop();
    }
  }, TIMEOUT);
});

/** A TCP server that answers nothing; `received(i)` is every byte of its i-th connection, once it closed. */
async function recordingServer(): Promise<{ server: NetServer; port: number; accepted(): number; received(index: number): Promise<Buffer> }> {
  const connections: Array<{ promise: Promise<Buffer>; resolve(data: Buffer): void }> = [];
  const slot = (index: number) => {
    while (connections.length <= index) {
      let resolve!: (data: Buffer) => void;
      const promise = new Promise<Buffer>((done) => (resolve = done));
      connections.push({ promise, resolve });
    }
    return connections[index];
  };
  let accepted = 0;
  const server = createNetServer((socket: Socket) => {
    const connection = slot(accepted++);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('close', () => connection.resolve(Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, accepted: () => accepted, received: (index) => slot(index).promise };
}

/** One request with a node:http client; resolves with the response or the error. */
function send(
  endpoint: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer },
): Promise<{ status?: number; body?: Buffer; headers?: IncomingMessage['headers']; error?: Error & { code?: string }; continued: boolean }> {
  return new Promise((resolve) => {
    let continued = false;
    const request = httpRequest(`${endpoint}${options.path}`, { method: options.method, headers: options.headers, agent: false });
    request.on('continue', () => {
      continued = true;
      request.end(options.body);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks), continued }));
      response.on('error', (error) => resolve({ status: response.statusCode, error, continued }));
    });
    request.on('error', (error) => resolve({ error, continued }));
    if (options.headers?.Expect === undefined) request.end(options.body);
    else request.flushHeaders();
  });
}

describe('S3FaultProxy on the wire (bare servers that record what reaches them)', () => {
  it('forwards the head unchanged (Host and Authorization included) but for connection-level headers', async () => {
    let received: string[] = [];
    const target = createHttpServer((req, res) => {
      received = req.rawHeaders;
      req.resume();
      req.on('end', () => res.writeHead(201, { 'X-Answer': 'yes', 'Content-Length': '2' }).end('ok'));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const proxy = await S3FaultProxy.start({ target: `http://127.0.0.1:${(target.address() as AddressInfo).port}` });
    try {
      const headers = { Authorization: 'AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/s3/aws4_request, Signature=abc', 'X-Amz-Date': '20260101T000000Z', 'x-amz-meta-MiXeD': 'Case' };
      const answer = await send(proxy.endpoint, { method: 'PUT', path: '/bucket/some%20key?partNumber=2&uploadId=u', headers, body: Buffer.from('body') });
      expect(answer).toMatchObject({ status: 201, body: Buffer.from('ok'), headers: { 'x-answer': 'yes' } });
      const pairs = Object.fromEntries(Array.from({ length: received.length / 2 }, (_, i) => [received[2 * i], received[2 * i + 1]]));
      expect(pairs).toMatchObject({ ...headers, Host: new URL(proxy.endpoint).host, 'Content-Length': '4' });
      expect(proxy.requests).toEqual([{ method: 'PUT', bucket: 'bucket', key: 'some key', query: 'partNumber=2&uploadId=u', status: 201 }]);
    } finally {
      await proxy.stop();
      target.close();
    }
  }, TIMEOUT);

  it('forwards Expect: 100-continue; the server decides whether the body comes', async () => {
    const seen: Array<{ url: string; body: number }> = [];
    const target = createHttpServer();
    target.on('checkContinue', (req, res) => {
      if (req.url === '/b/refused') {
        seen.push({ url: req.url, body: -1 });
        res.writeHead(403, { 'Content-Length': '0', Connection: 'close' }).end();
        return;
      }
      res.writeContinue();
      let length = 0;
      req.on('data', (chunk: Buffer) => (length += chunk.length));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', body: length });
        res.writeHead(200, { 'Content-Length': '0' }).end();
      });
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const proxy = await S3FaultProxy.start({ target: `http://127.0.0.1:${(target.address() as AddressInfo).port}` });
    try {
      const body = randomBytes(100_000);
      const expect100 = { Expect: '100-continue', 'Content-Length': String(body.length) };
      expect(await send(proxy.endpoint, { method: 'PUT', path: '/b/accepted', headers: expect100, body })).toMatchObject({ status: 200, continued: true });
      const refused = await send(proxy.endpoint, { method: 'PUT', path: '/b/refused', headers: { ...expect100, Connection: 'keep-alive' }, body });
      // The client did not get a 100 and may or may not send its body: the connection cannot carry another request.
      expect(refused).toMatchObject({ status: 403, continued: false, headers: { connection: 'close' } });
      expect(seen).toEqual([
        { url: '/b/accepted', body: body.length },
        { url: '/b/refused', body: -1 },
      ]);
    } finally {
      await proxy.stop();
      target.close();
    }
  }, TIMEOUT);

  it('reset-during-request: the server gets the head and exactly afterBytes bytes, then the connection ends', async () => {
    const target = await recordingServer();
    const proxy = await S3FaultProxy.start({ target: `http://127.0.0.1:${target.port}` });
    try {
      const body = randomBytes(1000);
      proxy.inject({ fault: { kind: 'reset-during-request', afterBytes: 100 }, times: 3 });
      const cut = await send(proxy.endpoint, { method: 'PUT', path: '/b/k', headers: { 'Content-Length': '1000', Expect: '100-continue' }, body });
      expect(cut.error?.code).toMatch(/ECONNRESET|EPIPE/);
      const wire = await target.received(0);
      const headEnd = wire.indexOf('\r\n\r\n') + 4;
      expect(wire.subarray(0, headEnd).toString('latin1')).toMatch(/^PUT \/b\/k HTTP\/1\.1\r\n/);
      expect(wire.subarray(0, headEnd).toString('latin1')).not.toMatch(/expect/i); // the proxy answered the 100 itself
      expect(wire.subarray(headEnd)).toEqual(body.subarray(0, 100));

      // A body no longer than afterBytes loses its last byte: the server never gets a whole request.
      await send(proxy.endpoint, { method: 'PUT', path: '/b/short', headers: { 'Content-Length': '10' }, body: body.subarray(0, 10) });
      const short = await target.received(1);
      expect(short.subarray(short.indexOf('\r\n\r\n') + 4)).toEqual(body.subarray(0, 9));

      // A request without a body loses the blank line that ends its head.
      const get = await send(proxy.endpoint, { method: 'GET', path: '/b/k' });
      expect(get.error?.code).toMatch(/ECONNRESET|EPIPE/);
      const head = (await target.received(2)).toString('latin1');
      expect(head).toMatch(/^GET \/b\/k HTTP\/1\.1\r\n/);
      expect(head).toMatch(/\r\n$/);
      expect(head).not.toContain('\r\n\r\n');
    } finally {
      await proxy.stop();
      target.server.close();
    }
  }, TIMEOUT);

  it('reset-before and status faults never open a connection to the server', async () => {
    const target = await recordingServer();
    const proxy = await S3FaultProxy.start({ target: `http://127.0.0.1:${target.port}` });
    try {
      proxy.inject({ fault: { kind: 'reset-before' } });
      proxy.inject({ fault: { kind: 'status', status: 503 } });
      const reset = await send(proxy.endpoint, { method: 'PUT', path: '/b/k', headers: { 'Content-Length': '3' }, body: Buffer.from('abc') });
      expect(reset.error?.code).toMatch(/ECONNRESET|EPIPE/);
      const refused = await send(proxy.endpoint, { method: 'GET', path: '/b/k' });
      expect(refused.status).toBe(503);
      expect(refused.headers?.['content-type']).toBe('application/xml');
      expect(refused.body?.toString()).toMatch(/<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate.<\/Message><Resource>\/b\/k<\/Resource>/);
      // Refused before a 100: the client may still send its body, so the connection must not carry another request.
      proxy.inject({ fault: { kind: 'status', status: 500 } });
      const early = await send(proxy.endpoint, {
        method: 'PUT',
        path: '/b/k',
        headers: { Expect: '100-continue', Connection: 'keep-alive', 'Content-Length': '3' },
        body: Buffer.from('abc'),
      });
      expect(early).toMatchObject({ status: 500, continued: false, headers: { connection: 'close' } });
      expect(target.accepted()).toBe(0);
    } finally {
      await proxy.stop();
      target.server.close();
    }
  }, TIMEOUT);

  it('reset-during-response on a chunked answer: the client gets afterBytes bytes and no end', async () => {
    const target = createHttpServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain' }); // no Content-Length: chunked
      res.write('a'.repeat(300));
      res.end('b'.repeat(300));
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const proxy = await S3FaultProxy.start({ target: `http://127.0.0.1:${(target.address() as AddressInfo).port}` });
    try {
      expect(await send(proxy.endpoint, { method: 'GET', path: '/b/k' })).toMatchObject({ status: 200, body: Buffer.from('a'.repeat(300) + 'b'.repeat(300)) });
      proxy.inject({ fault: { kind: 'reset-during-response', afterBytes: 450 } });
      const received: Buffer[] = [];
      const outcome = await new Promise<string>((resolve) => {
        httpRequest(`${proxy.endpoint}/b/k`, { agent: false }, (response) => {
          response.on('data', (chunk: Buffer) => received.push(chunk));
          response.on('end', () => resolve('complete'));
          response.on('error', (error: Error & { code?: string }) => resolve(String(error.code)));
        })
          .on('error', (error: Error & { code?: string }) => resolve(String(error.code)))
          .end();
      });
      expect(outcome).toBe('ECONNRESET');
      expect(Buffer.concat(received).toString()).toBe('a'.repeat(300) + 'b'.repeat(150));
    } finally {
      await proxy.stop();
      target.close();
    }
  }, TIMEOUT);

  it('refuses malformed rules and targets', async () => {
    await expect(S3FaultProxy.start({ target: 'https://s3.amazonaws.com' })).rejects.toThrow(/only http/);
    await expect(S3FaultProxy.start({ target: 'not a url' })).rejects.toThrow(TypeError);
    const proxy = await S3FaultProxy.start({ target: 'http://127.0.0.1:9' });
    try {
      const bad: unknown[] = [
        { fault: { kind: 'explode' } },
        { fault: { kind: 'status', status: 99 } },
        { fault: { kind: 'status', status: 503.5 } },
        { fault: { kind: 'stall', ms: -1 } },
        { fault: { kind: 'reset-during-request', afterBytes: 1.5 } },
        { fault: { kind: 'reset-before' }, times: -1 },
        { fault: { kind: 'reset-before' }, skip: Infinity },
        { fault: { kind: 'reset-before' }, match: { key: 42 } },
      ];
      for (const rule of bad) expect(() => proxy.inject(rule as S3FaultRule)).toThrow(/S3FaultProxy\.inject/);
      expect(proxy.inject({ fault: { kind: 'reset-before' }, times: Infinity }).hits).toBe(0);
    } finally {
      await proxy.stop();
    }
  }, TIMEOUT);
});
