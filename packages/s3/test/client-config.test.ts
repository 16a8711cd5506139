/**
 * `clientConfig` (AWS_S3_CLIENT_CONFIG): S3ClientConfig passed to the built client. A key that a
 * filefield option also sets is refused; otherwise clientConfig wins over the driver's default
 * for that key. Shown on real servers with a setting whose effect a fault proxy makes visible
 * (maxAttempts), and on the client's resolved configuration.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ConfigurationError, StorageUnavailableError } from '@filefield/core';
import { fromEnv, S3Storage } from '@filefield/s3';
import { S3FaultProxy } from '@filefield/s3/testing';
import { Presigner } from '../src/presign';
import { describeOnServers } from './support/servers';

describeOnServers('clientConfig (AWS_S3_CLIENT_CONFIG)', (server) => {
  let proxy: S3FaultProxy;
  beforeAll(async () => {
    proxy = await S3FaultProxy.start({ target: server().endpoint });
  });
  afterEach(() => proxy.clear());
  afterAll(async () => {
    await proxy.stop();
  });

  it('passes maxAttempts to the client: one 503 is retried by default, fails with maxAttempts 1', async () => {
    const seed = new S3Storage(server().options({ location: 'client-config' }));
    await seed.save('a.txt', 'a');
    const viaProxy = { location: 'client-config', endpointUrl: proxy.endpoint };
    const fault = () => proxy.inject({ match: { method: 'GET', key: /client-config\/a\.txt$/ }, fault: { kind: 'status', status: 503 } });

    const retrying = new S3Storage(server().options(viaProxy));
    const once = fault();
    expect((await retrying.open('a.txt').read()).toString()).toBe('a');
    expect(once.hits).toBe(1);

    const single = new S3Storage(server().options({ ...viaProxy, clientConfig: { maxAttempts: 1 } }));
    expect(await single.client.config.maxAttempts()).toBe(1);
    fault();
    await expect(single.open('a.txt').read()).rejects.toBeInstanceOf(StorageUnavailableError);

    const fromEnvironment = new S3Storage(server().options({ ...viaProxy, ...fromEnv({ AWS_S3_CLIENT_CONFIG: '{"maxAttempts": 1}' }) }));
    fault();
    await expect(fromEnvironment.open('a.txt').read()).rejects.toBeInstanceOf(StorageUnavailableError);
    // The fast presigner still signs directly: clientConfig adds no middleware.
    expect(await new Presigner(single.client, single.bucket, 60).fallbackReason()).toBeUndefined();
  });

  it("logs every command to a logger of the app's own, and spends nothing on logging without one", async () => {
    const entries: Array<{ commandName?: string }> = [];
    const logger = { trace() {}, debug() {}, warn() {}, error() {}, info: (entry: { commandName?: string }) => void entries.push(entry) };
    const logged = new S3Storage(server().options({ location: 'client-config', clientConfig: { logger } }));
    await logged.save('logged.txt', 'a');
    expect(entries.map((entry) => entry.commandName)).toContain('PutObjectCommand');
    // The driver's own logger prints nothing, so the SDK's logging step (which runs every input
    // and output through a redaction filter) is not in its stack; signing still goes direct.
    const quiet = new S3Storage(server().options({ location: 'client-config' }));
    expect(quiet.client.middlewareStack.identify().filter((entry) => entry.startsWith('loggerMiddleware'))).toEqual([]);
    expect(logged.client.middlewareStack.identify().filter((entry) => entry.startsWith('loggerMiddleware'))).toHaveLength(1);
    expect((await quiet.open('logged.txt').read()).toString()).toBe('a');
    expect(await new Presigner(quiet.client, quiet.bucket, 60).fallbackReason()).toBeUndefined();
  });
});

describe('clientConfig and the options: one source per setting', () => {
  const keys = { accessKeyId: 'k', secretAccessKey: 's' };

  it('refuses a key that an option also sets, naming both', () => {
    expect(() => new S3Storage({ bucket: 'b', ...keys, region: 'eu-west-1', clientConfig: { region: 'eu-west-2' } })).toThrow(
      /clientConfig\.region.*`region`/,
    );
    expect(() => new S3Storage({ bucket: 'b', ...keys, clientConfig: { credentials: keys } })).toThrow(/clientConfig\.credentials/);
    expect(() => new S3Storage({ bucket: 'b', readTimeout: 5, clientConfig: { requestHandler: new NodeHttpHandler() } })).toThrow(/requestHandler/);
    expect(() => new S3Storage({ bucket: 'b', client: {} as never, clientConfig: { maxAttempts: 2 } })).toThrow(/clientConfig/);
    expect(() => new S3Storage({ bucket: 'b', clientConfig: [] as never })).toThrow(ConfigurationError);
    expect(() => fromEnv({ AWS_S3_CLIENT_CONFIG: '{"maxAttempts": ' })).toThrow(/AWS_S3_CLIENT_CONFIG must be a JSON object/);
  });

  it("wins over the driver's defaults where no option is set", async () => {
    const regional = new S3Storage({ bucket: 'media-bucket', ...keys, querystringAuth: false, clientConfig: { region: 'eu-west-2' } });
    expect(await regional.client.config.region()).toBe('eu-west-2');
    expect(await regional.url('a.txt')).toBe('https://media-bucket.s3.eu-west-2.amazonaws.com/a.txt');
    // The default path style of an endpoint gives way to clientConfig's forcePathStyle.
    const virtual = new S3Storage({ bucket: 'media', ...keys, querystringAuth: false, endpointUrl: 'https://s3.example.net', clientConfig: { forcePathStyle: false } });
    expect(await virtual.url('a.txt')).toBe('https://media.s3.example.net/a.txt');
    // A request handler of your own replaces the driver's (its pool and timeouts are then yours).
    const handler = new NodeHttpHandler({ connectionTimeout: 1234 });
    const own = new S3Storage({ bucket: 'b', ...keys, clientConfig: { requestHandler: handler } });
    expect(own.client.config.requestHandler).toBe(handler);
    // The storage's id follows an endpoint given there.
    const elsewhere = new S3Storage({ bucket: 'b', ...keys, clientConfig: { endpoint: 'http://127.0.0.1:9000' } });
    expect(elsewhere.id).toBe('s3:http://127.0.0.1:9000/b/');
  });
});
