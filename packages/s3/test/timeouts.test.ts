/**
 * A server that stops answering makes calls fail with StorageTimeoutError (connectTimeout,
 * readTimeout) instead of hanging, without the secret in the error, and the same storage works
 * again once the server does. Real sockets throughout: a proxy in front of s3rver that can go
 * silent, a listener whose accept queue is full, and a TLS endpoint that never handshakes.
 */
import { ConfigurationError, StorageTimeoutError, StorageUnavailableError } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import type { NodeHttpHandler, NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import type { Agent } from 'node:http';
import { type HoldingProxy, startHoldingProxy, startUnacceptingServer } from './support/network';
import { expectNoSecret } from './support/secrets';

const SECRET = 'timeout-secret-Hq7Rw2Lx9Tb4';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
}, 60_000);
afterAll(async () => {
  await s3.stop();
});

/** s3rver does not verify SigV4 signatures, so any secret works there: a distinctive one is looked for in errors. */
function storageOn(endpointUrl: string, overrides: Partial<ConstructorParameters<typeof S3Storage>[0]> = {}): S3Storage {
  return new S3Storage(s3.storageOptions({ endpointUrl, secretAccessKey: SECRET, location: 'timeouts', ...overrides }));
}

async function failure(call: Promise<unknown>): Promise<Error> {
  const outcome = await call.then(
    () => new Error('the call succeeded'),
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

describe('readTimeout: a server that accepts and never answers', () => {
  let proxy: HoldingProxy;
  afterEach(async () => {
    await proxy?.stop();
  });

  it('fails each call with StorageTimeoutError naming the operation, bucket and key, then works again', async () => {
    proxy = await startHoldingProxy(Number(new URL(s3.endpoint).port));
    // One pooled connection: if a timed-out request kept its socket, nothing would work afterwards.
    // 2 s of silence is far beyond what s3rver takes to answer on a loaded machine.
    const storage = storageOn(proxy.url, { readTimeout: 2000, maxPoolConnections: 1 });
    await storage.save('kept.txt', 'before the silence');

    proxy.hold();
    const calls: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['exists', () => storage.exists('kept.txt'), /'timeouts\/kept\.txt'/],
      ['read', () => storage.open('kept.txt').read(), /'timeouts\/kept\.txt'/],
      ['save', () => storage.save('new.txt', 'never stored'), /'timeouts\/new\.txt'/],
      ['listdir', () => storage.listdir(''), /bucket/],
    ];
    for (const [what, call, names] of calls) {
      const error = await failure(call());
      expect({ what, error }).toEqual({ what, error: expect.any(StorageTimeoutError) });
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect(error).toMatchObject({ code: 'E_STORAGE_TIMEOUT' });
      expect(error.message).toMatch(names);
      expect(error.message).toContain(`bucket '${s3.bucket}'`);
      expect(error.message).toMatch(/the server sent nothing for readTimeout \(2000 ms, AWS_S3_READ_TIMEOUT\)/);
      expectNoSecret(error, SECRET);
    }

    proxy.forward();
    expect((await storage.open('kept.txt').read()).toString()).toBe('before the silence');
    await storage.save('after.txt', 'after the silence');
    expect(await storage.exists('after.txt')).toBe(true);
    storage.client.destroy();
  }, 120_000);
});

describe('readTimeout: a server that goes silent in the middle of a download', () => {
  let proxy: HoldingProxy;
  afterEach(async () => {
    await proxy?.stop();
  });

  it('fails createReadStream(), chunks() and read() with StorageTimeoutError, not an SDK error, then works again', async () => {
    proxy = await startHoldingProxy(Number(new URL(s3.endpoint).port));
    const storage = storageOn(proxy.url, { readTimeout: 2000, maxPoolConnections: 1 });
    // Far more than the sockets on the way buffer, so most of it is still on the server when the proxy goes silent.
    const bytes = randomBytes(32 * 1024 * 1024);
    await storage.save('big.bin', bytes);

    /** Take the first piece, silence the proxy, then read on to the end. */
    const readers: Array<[string, () => Promise<unknown>]> = [
      [
        'createReadStream',
        async () => {
          const pieces = (await storage.createReadStream('big.bin'))[Symbol.asyncIterator]();
          await pieces.next();
          proxy.hold();
          while (!(await pieces.next()).done);
        },
      ],
      [
        'chunks',
        async () => {
          const pieces = storage.open('big.bin').chunks(64 * 1024)[Symbol.asyncIterator]();
          await pieces.next();
          proxy.hold();
          while (!(await pieces.next()).done);
        },
      ],
      [
        'read',
        async () => {
          const file = storage.open('big.bin');
          await file.read(1024);
          proxy.hold();
          await file.read();
        },
      ],
    ];
    for (const [what, reader] of readers) {
      proxy.forward();
      const error = await failure(reader());
      expect({ what, error }).toEqual({ what, error: expect.any(StorageTimeoutError) });
      expect(error.message).toMatch(/S3 read on 'timeouts\/big\.bin' in bucket '.+' timed out: the server sent nothing for readTimeout \(2000 ms, AWS_S3_READ_TIMEOUT\)/);
      expectNoSecret(error, SECRET);
    }

    proxy.forward();
    expect((await storage.open('big.bin').read()).equals(bytes)).toBe(true);
    storage.client.destroy();
  }, 120_000);
});

describe('connectTimeout', () => {
  it('fails a call to a server that never accepts the connection, then works once it does', async () => {
    const server = await startUnacceptingServer(Number(new URL(s3.endpoint).port));
    try {
      const storage = storageOn(server.url, { connectTimeout: 500 });
      const error = await failure(storage.exists('a.txt'));
      expect(error).toBeInstanceOf(StorageTimeoutError);
      expect(error.message).toMatch(/exists on 'timeouts\/a\.txt' in bucket '.+' timed out: no connection within connectTimeout \(500 ms, AWS_S3_CONNECT_TIMEOUT\), on each of \d+ attempts\.$/);
      expectNoSecret(error, SECRET);

      await server.release();
      await storage.save('a.txt', 'connected at last');
      expect((await storage.open('a.txt').read()).toString()).toBe('connected at last');
      storage.client.destroy();
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('covers the TLS handshake: an https endpoint that accepts TCP but never handshakes', async () => {
    const silent = await startHoldingProxy();
    try {
      const storage = storageOn(`https://127.0.0.1:${silent.port}`, { connectTimeout: 500 });
      const error = await failure(storage.open('a.txt').read());
      expect(error).toBeInstanceOf(StorageTimeoutError);
      expect(error.message).toMatch(/no connection within connectTimeout \(500 ms, AWS_S3_CONNECT_TIMEOUT\)/);
      expectNoSecret(error, SECRET);
      // The client gave up the connections it opened (no socket left waiting for a handshake).
      expect(silent.accepted).toBeGreaterThan(0);
      await silent.allClosed();
      storage.client.destroy();
    } finally {
      await silent.stop();
    }
  }, 60_000);
});

describe('timeout and pool options', () => {
  const base = { bucket: 'b', endpointUrl: 'http://127.0.0.1:9', accessKeyId: 'k', secretAccessKey: SECRET };

  it("reach the SDK's handler, with the defaults when unset", async () => {
    // Waiting out the 60 s default is no test; what the handler runs on is checked instead.
    const configs = async (storage: S3Storage) => {
      await storage.exists('a.txt');
      const handler = storage.client.config.requestHandler as NodeHttpHandler;
      const config = handler.httpHandlerConfigs() as NodeHttpHandlerOptions & { httpAgent: Agent; httpsAgent: Agent };
      storage.client.destroy();
      const agents = [config.httpAgent, config.httpsAgent].map((agent) => ({
        keepAlive: (agent as Agent & { keepAlive: boolean }).keepAlive,
        maxSockets: agent.maxSockets,
      }));
      return { socketTimeout: config.socketTimeout, connectionTimeout: config.connectionTimeout, agents };
    };
    expect(await configs(new S3Storage(s3.storageOptions()))).toEqual({
      socketTimeout: 60_000,
      // The connect timeout is the agents' (see client.ts): the handler's would count pool waits.
      connectionTimeout: undefined,
      agents: [{ keepAlive: true, maxSockets: 50 }, { keepAlive: true, maxSockets: 50 }],
    });
    expect(await configs(new S3Storage(s3.storageOptions({ readTimeout: 1234, maxPoolConnections: 7 })))).toMatchObject({
      socketTimeout: 1234,
      agents: [{ maxSockets: 7 }, { maxSockets: 7 }],
    });
    expect((await configs(new S3Storage(s3.storageOptions({ readTimeout: 0 })))).socketTimeout).toBeUndefined();
  }, 30_000);

  it('refuses malformed values, naming the option', () => {
    const cases: Array<[object, RegExp]> = [
      [{ connectTimeout: -1 }, /`connectTimeout` .*milliseconds.*AWS_S3_CONNECT_TIMEOUT/],
      [{ connectTimeout: 1.5 }, /connectTimeout/],
      [{ readTimeout: '60' }, /readTimeout/],
      [{ readTimeout: 2 ** 31 }, /readTimeout/],
      [{ maxPoolConnections: 0 }, /`maxPoolConnections` \(AWS_S3_MAX_POOL_CONNECTIONS\) must be a positive whole number/],
      [{ maxPoolConnections: Infinity }, /maxPoolConnections/],
    ];
    for (const [override, message] of cases) {
      const build = () => new S3Storage({ ...base, ...override } as never);
      expect(build).toThrow(ConfigurationError);
      expect(build).toThrow(message);
    }
    expect(() => new S3Storage({ ...base, connectTimeout: 0, readTimeout: 0, maxPoolConnections: 1 })).not.toThrow();
  });

  it('refuses them next to an injected client, saying where they go instead', () => {
    const client = new S3Client({ region: 'us-east-1' });
    for (const option of [{ connectTimeout: 1000 }, { readTimeout: 1000 }, { maxPoolConnections: 5 }]) {
      expect(() => new S3Storage({ bucket: 'b', client, ...option })).toThrow(ConfigurationError);
      expect(() => new S3Storage({ bucket: 'b', client, ...option })).toThrow(/injected `client`.*requestHandler/);
    }
    client.destroy();
  });
});
