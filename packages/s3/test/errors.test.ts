/**
 * Failures arrive as typed filefield errors with stable codes, and never carry the secret key:
 * not in the message, not in the `cause` chain, not in what `util.inspect` would log.
 */
import { ConfigurationError, FileNotFoundError, PermissionDeniedError, StorageUnavailableError } from '@filefield/core';
import { BucketNotFoundError, S3Storage } from '@filefield/s3';
import { S3Client } from '@aws-sdk/client-s3';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { expectNoSecret, findSecret } from './support/secrets';
import { describeOnServers } from './support/servers';

/** Everything a logger could print about an error, causes included. */
function everything(error: unknown): string {
  return inspect(error, { depth: 20, showHidden: true }) + JSON.stringify(error, Object.getOwnPropertyNames(error as object));
}

/** A port on 127.0.0.1 where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeOnServers('S3Storage errors', (server) => {
  it('maps a missing key to FileNotFoundError for read, size and modifiedTime', async () => {
    const storage = new S3Storage(server().options());
    for (const attempt of [() => storage.open('nope.txt').read(), () => storage.size('nope.txt'), () => storage.modifiedTime('nope.txt')]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FileNotFoundError);
      expect(error).toMatchObject({ code: 'E_FILE_NOT_FOUND', fileName: 'nope.txt' });
    }
    expect(await storage.exists('nope.txt')).toBe(false);
    await expect(storage.delete('nope.txt')).resolves.toBeUndefined();
  });

  it('maps NoSuchBucket to BucketNotFoundError naming the bucket and the fix', async () => {
    const storage = new S3Storage(server().options({ bucket: 'filefield-no-such-bucket' }));
    const error = await storage.save('a.txt', 'a').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketNotFoundError);
    expect(error).toMatchObject({ code: 'E_BUCKET_NOT_FOUND', bucket: 'filefield-no-such-bucket' });
    expect((error as Error).message).toContain('autoCreateBucket');
    await expect(storage.listdir('')).rejects.toBeInstanceOf(BucketNotFoundError);
  });

  it('maps an unreachable endpoint to StorageUnavailableError', async () => {
    const port = await closedPort();
    const storage = new S3Storage(server().options({ endpointUrl: `http://127.0.0.1:${port}` }));
    const error = await storage.exists('a.txt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect(error).toMatchObject({ code: 'E_STORAGE_UNAVAILABLE' });
    expect((error as Error).message).toContain('unreachable');
  }, 30_000);

  it('refuses wrong credentials with PermissionDeniedError that does not contain the secret', async () => {
    const secret = 'wrong-secret-Zq8x7Vb3Kp2Lm9Nn';
    const storage = new S3Storage(server().options({ secretAccessKey: secret, location: 'denied' }));
    // s3rver verifies only SigV2 signatures: sign that way there, SigV4 on a real server.
    const signed = server().verifiesSignatures ? storage : new S3Storage(server().options({ secretAccessKey: secret, signatureVersion: 's3' }));
    const attempts: Array<() => Promise<unknown>> = [
      () => signed.save('a.txt', 'a'),
      () => signed.open('a.txt').read(),
      () => signed.size('a.txt'),
      () => signed.listdir(''),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(error).toMatchObject({ code: 'E_PERMISSION_DENIED' });
      expect((error as Error).message).toMatch(/access key|secret key/);
      expect(everything(error)).not.toContain(secret);
      // (s3rver's secret is also its access key id, which messages may name.)
      if (server().label !== 's3rver') expect(everything(error)).not.toContain(server().secretAccessKey);
    }
    if (server().verifiesSignatures) {
      const unknownKey = new S3Storage(server().options({ accessKeyId: 'NOSUCHKEY', secretAccessKey: secret }));
      const error = await unknownKey.exists('a.txt').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect(everything(error)).not.toContain(secret);
    }
  });

  it('keeps the secret out of every error a wrong secret key causes: save, read, delete, exists, deleteMany, url', async () => {
    const secret = 'wrong-secret-Vd5Jk8Pq1Zs6Ww3';
    // s3rver verifies only SigV2 signatures: sign that way there, SigV4 on a real server.
    const signatureVersion = server().verifiesSignatures ? 's3v4' : 's3';
    const storage = new S3Storage(server().options({ secretAccessKey: secret, signatureVersion, location: 'denied' }));
    // The real secret must not leak either (on s3rver it is also the access key id, which may be named).
    const secrets = server().label === 's3rver' ? [secret] : [secret, server().secretAccessKey];
    const failures: Array<[string, () => Promise<unknown>]> = [
      ['save', () => storage.save('a.txt', 'a')],
      ['save (multipart)', () => storage.save('b.bin', Buffer.alloc(17 * 1024 * 1024))],
      ['read', () => storage.open('a.txt').read()],
      ['delete', () => storage.delete('a.txt')],
      ['exists', () => storage.exists('a.txt')],
      ['size', () => storage.size('a.txt')],
      ['listdir', () => storage.listdir('')],
    ];
    for (const [what, call] of failures) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect({ what, error }).toEqual({ what, error: expect.any(PermissionDeniedError) });
      expectNoSecret(error, secrets);
    }
    const result = await storage.deleteMany(['a.txt', 'b.txt', 'c d.txt', ' padded.txt']);
    expect(result.deleted).toEqual([]);
    expect(result.failed.map((failure) => failure.name).sort()).toEqual([' padded.txt', 'a.txt', 'b.txt', 'c d.txt']);
    for (const failure of result.failed) {
      expect(failure.error).toBeInstanceOf(PermissionDeniedError);
      expectNoSecret(failure.error, secrets);
    }
    expectNoSecret(result, secrets);
    // A presigned URL is computed locally: no error, but the server refuses it, and the secret is not in it.
    const url = await storage.url('a.txt');
    expect(findSecret(url, secrets)).toBeUndefined();
    if (server().verifiesSignatures) expect((await fetch(url)).status).toBe(403);
  }, 60_000);

  it('keeps the secret out of connection failures (timeouts: see timeouts.test.ts)', async () => {
    const secret = 'unreachable-secret-Mn4Bx7Qe2';
    const port = await closedPort();
    const storage = new S3Storage(server().options({ endpointUrl: `http://127.0.0.1:${port}`, secretAccessKey: secret }));
    for (const call of [() => storage.save('a.txt', 'a'), () => storage.open('a.txt').read(), () => storage.exists('a.txt')]) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expectNoSecret(error, secret);
    }
  }, 30_000);
});

describe('expectNoSecret', () => {
  const secret = 'needle-Kq3Zr8Wm';

  it('finds a secret wherever an error can carry it', () => {
    const cyclic: Record<string, unknown> = { name: 'holder' };
    cyclic.self = cyclic;
    cyclic.deep = { list: [1, { header: `Bearer ${secret}` }] };
    const hidden = new Error('plain');
    Object.defineProperty(hidden, 'config', { value: { secretAccessKey: secret }, enumerable: false });
    const places: unknown[] = [
      new Error(`message ${secret}`),
      new Error('outer', { cause: new Error('middle', { cause: new TypeError(`inner ${secret}`) }) }),
      new AggregateError([new Error('one'), new Error(`two ${secret}`)], 'many'),
      Object.assign(new Error('with a property'), { input: `http://k:${secret}@host` }),
      Object.assign(new Error('cyclic'), { holder: cyclic }),
      hidden,
      Object.assign(new Error('bytes'), { body: Buffer.from(`<Secret>${secret}</Secret>`) }),
      Object.assign(new Error('map'), { headers: new Map([['authorization', secret]]) }),
      Object.assign(new Error('encoded'), { url: `http://host/?k=${encodeURIComponent(`${secret}/+=`)}` }),
      new Error('stack', { cause: Object.assign(new Error('x'), { stack: `Error: x\n    at ${secret}` }) }),
    ];
    for (const error of places) {
      expect(findSecret(error, [secret, `${secret}/+=`])).toBeDefined();
      expect(() => expectNoSecret(error, [secret, `${secret}/+=`])).toThrow(/A secret is exposed at/);
    }
    expect(findSecret(new Error('nothing here', { cause: cyclic.deep }), 'another-secret')).toBeUndefined();
  });

  it('does not print the secret when it fails', () => {
    let message = '';
    try {
      expectNoSecret(new Error(`leak ${secret}`), secret);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/exposed at error\.(message|stack) of Error/);
    expect(message).not.toContain(secret);
  });
});

describe('S3Storage configuration errors', () => {
  const valid = { bucket: 'b', endpointUrl: 'http://127.0.0.1:9', accessKeyId: 'k', secretAccessKey: 'super-secret-value' };

  it('refuses unknown option keys, naming them', () => {
    expect(() => new S3Storage({ ...valid, bucketName: 'x' } as never)).toThrow(ConfigurationError);
    expect(() => new S3Storage({ ...valid, querystring_auth: false } as never)).toThrow(/Invalid setting 'querystring_auth' for S3Storage/);
  });

  it('needs a bucket', () => {
    expect(() => new S3Storage({ ...valid, bucket: '' })).toThrow(/AWS_STORAGE_BUCKET_NAME/);
    expect(() => S3Storage.fromEnv({})).toThrow(ConfigurationError);
  });

  it('checks values and says which setting is wrong, without echoing the secret', () => {
    const cases: Array<[object, RegExp]> = [
      [{ querystringExpire: 0 }, /querystringExpire/],
      [{ encryption: 'DES' }, /encryption/],
      [{ kmsKeyId: 'k1' }, /kmsKeyId.*aws:kms/],
      [{ customDomain: 'https://cdn.example.com/' }, /customDomain/],
      [{ addressingStyle: 'subdomain' }, /addressingStyle/],
      [{ signatureVersion: 'v2' }, /signatureVersion/],
      [{ conditionalWrites: 'yes' }, /conditionalWrites/],
      [{ endpointUrl: 'not a url' }, /endpointUrl/],
      [{ endpointUrl: 'ftp://host' }, /endpointUrl/],
      [{ endpointUrl: 'http://user:pw@host' }, /must not contain credentials/],
      [{ multipartPartSize: 1024 }, /multipartPartSize/],
      [{ location: '../escape' }, /location/],
      [{ secretAccessKey: undefined }, /both `accessKeyId` and `secretAccessKey`/],
    ];
    for (const [override, message] of cases) {
      let thrown: unknown;
      try {
        new S3Storage({ ...valid, ...override } as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('super-secret-value');
    }
  });

  it('never shows a secret in configuration errors: credentials in URLs, misplaced keys, bad values', () => {
    const secret = 'cfg-secret-Yt6Np3Ld8Hs';
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['credentials in an endpoint with a bad port', () => new S3Storage({ ...valid, endpointUrl: `http://KEY:${secret}@host:99999` }), /endpointUrl.*credentials/],
      ['credentials in an endpoint', () => new S3Storage({ ...valid, endpointUrl: `https://KEY:${secret}@s3.example.com` }), /endpointUrl.*credentials/],
      ['a password only', () => new S3Storage({ ...valid, endpointUrl: `http://:${secret}@127.0.0.1:7480` }), /endpointUrl.*credentials/],
      ['no scheme', () => new S3Storage({ ...valid, endpointUrl: `KEY:${secret}@host:99999` }), /endpointUrl.*credentials/],
      ['a malformed host', () => new S3Storage({ ...valid, endpointUrl: `http://KEY:${secret}@[::1` }), /endpointUrl/],
      ['the secret as the endpoint', () => new S3Storage({ ...valid, endpointUrl: secret }), /endpointUrl/],
      ['the secret as a scheme', () => new S3Storage({ ...valid, endpointUrl: `${secret.replace(/-/g, '')}:rest` }), /endpointUrl/],
      ['a query string', () => new S3Storage({ ...valid, endpointUrl: `http://host/?X-Amz-Signature=${secret}` }), /endpointUrl/],
      ['from the environment', () => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_S3_ENDPOINT_URL: `http://KEY:${secret}@host:99999` }), /AWS_S3_ENDPOINT_URL/],
      ['credentials in a custom domain', () => new S3Storage({ ...valid, customDomain: `user:${secret}@cdn.example.com` }), /customDomain.*credentials/],
      ['the secret as the region', () => new S3Storage({ ...valid, region: `${secret}/x+y` }), /region/],
      ['a secret that is not a string', () => new S3Storage({ ...valid, secretAccessKey: { value: secret } as never }), /secretAccessKey.*string/],
      ['an empty secret', () => new S3Storage({ ...valid, secretAccessKey: '' }), /secretAccessKey/],
      ['a session token without keys', () => new S3Storage({ bucket: 'b', sessionToken: secret }), /sessionToken/],
      ['a token that is not a string', () => new S3Storage({ ...valid, sessionToken: [secret] as never }), /sessionToken/],
      ['credentials without a secret', () => new S3Storage({ bucket: 'b', credentials: { accessKeyId: secret, secretAccessKey: '' } }), /credentials/],
      ['credentials of the wrong type', () => new S3Storage({ bucket: 'b', credentials: secret as never }), /credentials/],
      ['a misspelt secret option', () => new S3Storage({ ...valid, secretAccesKey: secret } as never), /Invalid setting 'secretAccesKey'/],
      ['only one key', () => new S3Storage({ bucket: 'b', secretAccessKey: secret }), /both `accessKeyId` and `secretAccessKey`/],
      ['both kinds of credentials', () => new S3Storage({ ...valid, secretAccessKey: secret, credentials: { accessKeyId: 'k', secretAccessKey: secret } }), /credentials/],
      ['a bad timeout next to the secret', () => new S3Storage({ ...valid, secretAccessKey: secret, readTimeout: -5 }), /readTimeout/],
    ];
    for (const [what, build, message] of cases) {
      let thrown: unknown;
      try {
        build();
      } catch (error) {
        thrown = error;
      }
      expect({ what, thrown }).toEqual({ what, thrown: expect.any(ConfigurationError) });
      expect({ what, message: (thrown as Error).message }).toEqual({ what, message: expect.stringMatching(message) });
      expectNoSecret(thrown, secret);
    }
  });

  it('ignores the keys the SDK adds to credentials objects (`$source`), and still refuses unknown ones', () => {
    // What an S3Client leaves on the credentials object it used (see the settings test with a real client).
    const creds = { accessKeyId: 'k', secretAccessKey: 's', $source: { CREDENTIALS_CODE: 'e' } };
    expect(() => new S3Storage({ bucket: 'b', endpointUrl: 'http://127.0.0.1:9', ...creds })).not.toThrow();
    expect(() => new S3Storage({ bucket: 'b', endpointUrl: 'http://127.0.0.1:9', ...creds, bogus: 1 } as never)).toThrow(/^Invalid setting 'bogus' for S3Storage/);
  });

  it('refuses client options next to an injected client', () => {
    const client = new S3Client({ region: 'us-east-1' });
    expect(() => new S3Storage({ bucket: 'b', client, region: 'eu-west-1' })).toThrow(/injected `client` and also `region`/);
    expect(new S3Storage({ bucket: 'b', client }).client).toBe(client);
    client.destroy();
  });

  it('refuses malformed environment values, naming the variable', () => {
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_QUERYSTRING_AUTH: 'maybe' })).toThrow(/AWS_QUERYSTRING_AUTH/);
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_QUERYSTRING_EXPIRE: 'soon' })).toThrow(/AWS_QUERYSTRING_EXPIRE/);
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_S3_OBJECT_PARAMETERS: '[1]' })).toThrow(/AWS_S3_OBJECT_PARAMETERS/);
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_S3_CALLING_FORMAT: 'Weird' })).toThrow(/AWS_S3_CALLING_FORMAT/);
  });
});
