/**
 * AWS_S3_PROXIES and AWS_S3_VERIFY, with real sockets: a forward proxy written here (absolute-URI
 * requests for http: endpoints, CONNECT tunnels for https: ones) in front of s3rver and the
 * external server, and an HTTPS front of s3rver whose certificate a CA made by the test signed.
 * The storage's connect timeout and pool still apply through a proxy.
 */
import { ConfigurationError, StorageTimeoutError } from '@filefield/core';
import { fromEnv, S3Storage } from '@filefield/s3';
import { startS3rver, type S3rverHandle } from '@filefield/s3/testing';
import { startForwardProxy, type ForwardProxy } from './support/forward-proxy';
import { startHoldingProxy } from './support/network';
import { expectNoSecret } from './support/secrets';
import { describeOnServers } from './support/servers';
import { makeTestCa, startTlsFront, type TestCa, type TlsFront } from './support/tls';

describeOnServers('proxies (AWS_S3_PROXIES) for an http endpoint', (server) => {
  let proxy: ForwardProxy;
  beforeAll(async () => {
    proxy = await startForwardProxy();
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it('sends every request through the proxy, signatures intact', async () => {
    const storage = new S3Storage(server().options({ location: 'proxied', proxies: { http: proxy.url } }));
    const before = proxy.forwarded;
    await storage.save('a.txt', 'through the proxy');
    expect((await storage.open('a.txt').read()).toString()).toBe('through the proxy');
    expect(await storage.exists('a.txt')).toBe(true);
    await storage.delete('a.txt');
    // PUT (HEAD-then-PUT on s3rver, probe + PUT on the external server), GET, HEAD, DELETE: all proxied.
    expect(proxy.forwarded - before).toBeGreaterThanOrEqual(4);
    expect(proxy.tunnels).toBe(0);
  });

  it('reads the proxy from AWS_S3_PROXIES, `host:port` meaning http://host:port', async () => {
    const hostPort = proxy.url.replace('http://', '');
    const options = fromEnv({ AWS_S3_PROXIES: JSON.stringify({ http: hostPort }) });
    expect(options.proxies).toEqual({ http: hostPort });
    const storage = new S3Storage(server().options({ location: 'proxied-env', ...options }));
    const before = proxy.forwarded;
    await storage.save('b.txt', 'b');
    expect(proxy.forwarded).toBeGreaterThan(before);
  });
});

describe('TLS verification (AWS_S3_VERIFY) and https proxies, on an HTTPS front of s3rver', () => {
  let s3: S3rverHandle;
  let ca: TestCa;
  let front: TlsFront;
  let proxy: ForwardProxy;
  beforeAll(async () => {
    s3 = await startS3rver();
    ca = makeTestCa();
    front = await startTlsFront(ca, s3.endpoint);
    proxy = await startForwardProxy();
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await front?.stop();
    ca?.remove();
    await s3?.stop();
  });
  const options = (extra: Record<string, unknown>) => s3.storageOptions({ endpointUrl: front.endpoint, ...extra });

  it('trusts the CA bundle given as `verify`', async () => {
    const storage = new S3Storage(options({ verify: ca.caPath }));
    await storage.save('tls.txt', 'over TLS');
    expect((await storage.open('tls.txt').read()).toString()).toBe('over TLS');
    expect(front.requests).toBeGreaterThan(0);
  });

  it('refuses the unknown CA by default with a ConfigurationError that says to set verify', async () => {
    const storage = new S3Storage(options({}));
    const error = await storage.save('refused.txt', 'x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/TLS certificate is not trusted.*AWS_S3_VERIFY/);
    await expect(new S3Storage(options({})).exists('x.txt')).rejects.toMatchObject({ code: 'E_INVALID_CONFIG' });
    // The bulk delete reports it per name, the same way.
    const { failed } = await new S3Storage(options({})).deleteMany(['a.txt', 'b.txt']);
    expect(failed.map((failure) => failure.error)).toEqual([expect.any(ConfigurationError), expect.any(ConfigurationError)]);
  });

  it('connects without verification when verify is false (AWS_S3_VERIFY=false)', async () => {
    const fromEnvironment = fromEnv({ AWS_S3_VERIFY: 'False' });
    expect(fromEnvironment.verify).toBe(false);
    const storage = new S3Storage(options({ verify: false }));
    await storage.save('unverified.txt', 'no check');
    expect((await storage.open('unverified.txt').read()).toString()).toBe('no check');
  });

  it('reads a CA bundle path from AWS_S3_VERIFY', async () => {
    expect(fromEnv({ AWS_S3_VERIFY: ca.caPath }).verify).toBe(ca.caPath);
    const storage = new S3Storage(options({ verify: fromEnv({ AWS_S3_VERIFY: ca.caPath }).verify }));
    expect(await storage.exists('tls.txt')).toBe(true);
  });

  it('tunnels https through the proxy with CONNECT, verifying the endpoint inside the tunnel', async () => {
    const before = proxy.tunnels;
    const storage = new S3Storage(options({ verify: ca.caPath, proxies: { https: proxy.url } }));
    await storage.save('tunnel.txt', 'through a tunnel');
    expect((await storage.open('tunnel.txt').read()).toString()).toBe('through a tunnel');
    expect(proxy.tunnels).toBeGreaterThan(before);
    expect(proxy.tunnelTargets.at(-1)).toBe(`127.0.0.1:${front.port}`);
    // Without the CA, the endpoint's certificate is refused inside the tunnel as well.
    const untrusting = new S3Storage(options({ proxies: { https: proxy.url } }));
    await expect(untrusting.exists('tunnel.txt')).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('sends the proxy credentials as Proxy-Authorization and never shows them in errors', async () => {
    const withAuth = `http://user:proxy-password-123@${proxy.url.replace('http://', '')}`;
    const storage = new S3Storage(options({ verify: ca.caPath, proxies: { https: withAuth } }));
    expect(await storage.exists('tunnel.txt')).toBe(true);
    expect(proxy.authorizations.at(-1)).toBe(`Basic ${Buffer.from('user:proxy-password-123').toString('base64')}`);
    const bad = (() => {
      try {
        return new S3Storage(options({ proxies: { https: 'ftp://user:proxy-password-123@proxy' } }));
      } catch (error) {
        return error;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigurationError);
    expectNoSecret(bad, 'proxy-password-123');
    const badJson = (() => {
      try {
        return fromEnv({ AWS_S3_PROXIES: '{"https": "http://user:proxy-password-123@proxy",' });
      } catch (error) {
        return error;
      }
    })();
    expect(badJson).toBeInstanceOf(ConfigurationError);
    expectNoSecret(badJson, 'proxy-password-123');
  });

  it('keeps the connect timeout through a proxy that never answers CONNECT', async () => {
    const silent = await startHoldingProxy();
    try {
      const storage = new S3Storage(options({ verify: ca.caPath, proxies: { https: silent.url }, connectTimeout: 300, clientConfig: { maxAttempts: 1 } }));
      const error = await storage.exists('tunnel.txt').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StorageTimeoutError);
      expect((error as Error).message).toMatch(/connectTimeout/);
    } finally {
      await silent.stop();
    }
  });

  it('refuses malformed proxies and CA bundle paths with the setting named', () => {
    const build = (extra: Record<string, unknown>) => () => new S3Storage(options(extra));
    expect(build({ proxies: { ftp: 'http://proxy:1' } })).toThrow(/proxies.*'http' and 'https'/);
    expect(build({ proxies: { https: 'http://proxy:1/path' } })).toThrow(ConfigurationError);
    expect(build({ proxies: 'http://proxy:1' })).toThrow(/AWS_S3_PROXIES/);
    expect(build({ verify: '/no/such/ca.pem' })).toThrow(/AWS_S3_VERIFY.*ENOENT/);
    expect(build({ verify: __filename })).toThrow(/no PEM certificate/);
    expect(() => fromEnv({ AWS_S3_PROXIES: '[1]' })).toThrow(/AWS_S3_PROXIES must be a JSON object/);
  });
});
