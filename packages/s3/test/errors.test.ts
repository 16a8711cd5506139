/**
 * Failures arrive as typed filefield errors with stable codes, and never carry the secret key:
 * not in the message, not in the `cause` chain, not in what `util.inspect` would log.
 */
import { ConfigurationError, FileNotFoundError, PermissionDeniedError, StorageUnavailableError } from '@filefield/core';
import { BucketNotFoundError, S3Storage } from '@filefield/s3';
import { S3Client } from '@aws-sdk/client-s3';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
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
