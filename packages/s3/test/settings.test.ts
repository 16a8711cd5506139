/**
 * Every setting, asserted on what the server stored (read back with a separate SDK client or an
 * anonymous HTTP GET), on s3rver and on the external server. Where s3rver does not implement a
 * feature (ACLs, encryption) the test checks the request the driver sent there, and the stored
 * state on the external server.
 */
import { DeleteBucketCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { randomSuffix } from '@filefield/core';
import { BucketNotFoundError, S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describeOnServers, emptyPrefix } from './support/servers';

async function rawBytes(body: unknown): Promise<Buffer> {
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

describeOnServers('S3Storage settings', (server) => {
  const head = (key: string) => server().raw.send(new HeadObjectCommand({ Bucket: server().bucket, Key: key }));

  it('stores under the location prefix (AWS_LOCATION) and lists relative to it', async () => {
    const storage = new S3Storage(server().options({ location: 'media/uploads' }));
    await storage.save('docs/a.txt', 'a');
    const key = `${server().prefix}/media/uploads/docs/a.txt`;
    expect(storage.key('docs/a.txt')).toBe(key);
    const listing = await server().raw.send(new ListObjectsV2Command({ Bucket: server().bucket, Prefix: `${server().prefix}/media/` }));
    expect(listing.Contents?.map((object) => object.Key)).toEqual([key]);
    expect(await storage.listdir('')).toEqual({ directories: ['docs'], files: [] });
    expect(await storage.listdir('docs')).toEqual({ directories: [], files: ['a.txt'] });
  });

  it('sets Content-Type from the name, unless objectParameters set it', async () => {
    const storage = new S3Storage(server().options({ location: 'types' }));
    const cases: Array<[string, string]> = [
      ['page.html', 'text/html'],
      ['style.css', 'text/css'],
      ['photo.JPG', 'image/jpeg'],
      ['data.json', 'application/json'],
      ['no-extension', 'application/octet-stream'],
    ];
    for (const [name, type] of cases) {
      await storage.save(name, 'x');
      expect((await head(storage.key(name))).ContentType).toBe(type);
    }
    const forced = new S3Storage(server().options({ location: 'types', objectParameters: { ContentType: 'text/x-custom' } }));
    await forced.save('forced.html', 'x');
    expect((await head(forced.key('forced.html'))).ContentType).toBe('text/x-custom');
  });

  it('sends objectParameters (AWS_S3_OBJECT_PARAMETERS) with every upload, small and multipart', async () => {
    const expires = new Date('2030-04-15T20:00:00Z');
    const storage = new S3Storage(
      server().options({
        location: 'params',
        objectParameters: { CacheControl: 'max-age=86400', ContentDisposition: 'attachment', Expires: expires, Metadata: { origin: 'test' } },
      }),
    );
    await storage.save('small.txt', 'small');
    await storage.save('large.bin', Buffer.alloc(17 * 1024 * 1024, 1));
    for (const name of ['small.txt', 'large.bin']) {
      const stored = await head(storage.key(name));
      expect(stored.CacheControl).toBe('max-age=86400');
      expect(stored.ContentDisposition).toBe('attachment');
      expect(new Date(stored.ExpiresString ?? String(stored.Expires)).getTime()).toBe(expires.getTime());
      expect(stored.Metadata).toEqual({ origin: 'test' });
    }
    expect((await head(storage.key('large.bin'))).ContentLength).toBe(17 * 1024 * 1024);
  });

  it('accepts objectParameters as a function of the name', async () => {
    const storage = new S3Storage(
      server().options({
        location: 'params-fn',
        objectParameters: (name) => ({ CacheControl: name.endsWith('.css') ? 'max-age=31536000' : 'no-cache' }),
      }),
    );
    await storage.save('site.css', 'body{}');
    await storage.save('index.html', '<p>');
    expect((await head(storage.key('site.css'))).CacheControl).toBe('max-age=31536000');
    expect((await head(storage.key('index.html'))).CacheControl).toBe('no-cache');
  });

  it('gzips the gzipContentTypes (AWS_IS_GZIPPED) and reads the original bytes back', async () => {
    const storage = new S3Storage(server().options({ location: 'gzip', gzip: true }));
    const css = `body { color: red; }\n`.repeat(500);
    await storage.save('site.css', css);
    await storage.save('notes.txt', css);
    const stored = await server().raw.send(new GetObjectCommand({ Bucket: server().bucket, Key: storage.key('site.css') }));
    expect(stored.ContentEncoding).toBe('gzip');
    expect(stored.ContentType).toBe('text/css');
    const compressed = await rawBytes(stored.Body);
    expect(compressed.byteLength).toBeLessThan(Buffer.byteLength(css) / 10);
    expect(gunzipSync(compressed).toString()).toBe(css);
    // Reads give the original bytes; size() is what the server stores (the compressed size).
    expect((await storage.open('site.css').read()).toString()).toBe(css);
    expect(await storage.size('site.css')).toBe(compressed.byteLength);
    // text/plain is not in the default list: stored as is.
    const plain = await head(storage.key('notes.txt'));
    expect(plain.ContentEncoding).toBeUndefined();
    expect(plain.ContentLength).toBe(Buffer.byteLength(css));
    // A streamed body of a gzipped type is compressed on the fly.
    await storage.save('streamed.js', Readable.from([Buffer.from('let a = 1;\n'.repeat(1000))]));
    expect((await head(storage.key('streamed.js'))).ContentEncoding).toBe('gzip');
    expect((await storage.open('streamed.js').read()).toString()).toBe('let a = 1;\n'.repeat(1000));
  });

  it('honours a custom gzipContentTypes list (GZIP_CONTENT_TYPES)', async () => {
    const storage = new S3Storage(server().options({ location: 'gzip-types', gzip: true, gzipContentTypes: ['text/plain'] }));
    await storage.save('a.txt', 'text '.repeat(100));
    await storage.save('b.css', 'css '.repeat(100));
    expect((await head(storage.key('a.txt'))).ContentEncoding).toBe('gzip');
    expect((await head(storage.key('b.css'))).ContentEncoding).toBeUndefined();
  });

  it('replaces a file saved under the same name by default (AWS_S3_FILE_OVERWRITE=true)', async () => {
    const storage = new S3Storage(server().options({ location: 'overwrite' }));
    expect(storage.fileOverwrite).toBe(true);
    expect(await storage.save('same.txt', 'one')).toBe('same.txt');
    expect(await storage.save('same.txt', 'two')).toBe('same.txt');
    expect((await storage.open('same.txt').read()).toString()).toBe('two');
  });

  it('sends the defaultAcl (AWS_DEFAULT_ACL); the server enforces it for anonymous readers', async () => {
    const publicStorage = new S3Storage(server().options({ location: 'acl', defaultAcl: 'public-read', querystringAuth: false }));
    const privateStorage = new S3Storage(server().options({ location: 'acl', defaultAcl: 'private', querystringAuth: false }));
    const log = recordRequests(publicStorage.client);
    await publicStorage.save('public.txt', 'for everyone');
    expect(log.requests.find((request) => request.method === 'PUT')?.headers['x-amz-acl']).toBe('public-read');
    log.restore();
    await privateStorage.save('private.txt', 'for the owner');
    const anonymousPublic = await fetch(await publicStorage.url('public.txt'));
    expect(anonymousPublic.status).toBe(200);
    expect(await anonymousPublic.text()).toBe('for everyone');
    if (server().enforcesAcl) {
      expect((await fetch(await privateStorage.url('private.txt'))).status).toBe(403);
    }
  });

  it('sends server-side encryption AES256 (AWS_S3_ENCRYPTION) and reads the file back', async () => {
    const storage = new S3Storage(server().options({ location: 'sse', encryption: 'AES256' }));
    const log = recordRequests(storage.client);
    await storage.save('secret.txt', 'encrypted at rest');
    expect(log.requests.find((request) => request.method === 'PUT')?.headers['x-amz-server-side-encryption']).toBe('AES256');
    log.restore();
    expect((await storage.open('secret.txt').read()).toString()).toBe('encrypted at rest');
    if (server().reportsAes256) expect((await head(storage.key('secret.txt'))).ServerSideEncryption).toBe('AES256');
  });

  it('encrypts with a KMS key (encryption aws:kms + kmsKeyId) where the server has one', async () => {
    const kmsKeyId = server().kmsKeyId;
    if (kmsKeyId === undefined) {
      // s3rver has no KMS; the external server needs FILEFIELD_S3_KMS_KEY_ID (radosgw's CI key is preset).
      const storage = new S3Storage(server().options({ location: 'kms', encryption: 'aws:kms', kmsKeyId: 'some-key' }));
      const log = recordRequests(storage.client);
      await storage.save('k.txt', 'k');
      const put = log.requests.find((request) => request.method === 'PUT');
      expect(put?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(put?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('some-key');
      return;
    }
    const storage = new S3Storage(server().options({ location: 'kms', encryption: 'aws:kms', kmsKeyId }));
    await storage.save('k.txt', 'kms content');
    const stored = await head(storage.key('k.txt'));
    expect(stored.ServerSideEncryption).toBe('aws:kms');
    expect(stored.SSEKMSKeyId).toContain(kmsKeyId);
    expect((await storage.open('k.txt').read()).toString()).toBe('kms content');
  });

  it('gives presigned URLs by default (AWS_QUERYSTRING_AUTH) that work over HTTP for querystringExpire seconds', async () => {
    const storage = new S3Storage(server().options({ location: 'urls', querystringExpire: 120 }));
    await storage.save('file name.txt', 'signed');
    const url = new URL(await storage.url('file name.txt'));
    expect(url.pathname).toBe(`/${server().bucket}/${server().prefix}/urls/file%20name.txt`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('120');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('signed');
  });

  it('has presigned URLs refused once tampered with or expired (servers that verify SigV4)', async () => {
    if (!server().verifiesSignatures) return; // s3rver does not verify SigV4 signatures
    const storage = new S3Storage(server().options({ location: 'urls', querystringExpire: 1 }));
    await storage.save('a.txt', 'a');
    await storage.save('b.txt', 'b');
    const url = await storage.url('a.txt');
    expect((await fetch(url)).status).toBe(200);
    const otherKey = url.replace('/a.txt?', '/b.txt?');
    expect((await fetch(otherKey)).status).toBe(403);
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    expect((await fetch(tampered)).status).toBe(403);
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '3600');
    expect((await fetch(longer)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await fetch(url)).status).toBe(403);
  });

  it('gives plain URLs with querystringAuth off', async () => {
    const storage = new S3Storage(server().options({ location: 'urls', querystringAuth: false }));
    expect(await storage.url('a b/c.txt')).toBe(`${server().endpoint}/${server().bucket}/${server().prefix}/urls/a%20b/c.txt`);
  });

  it('builds URLs on the customDomain (AWS_S3_CUSTOM_DOMAIN) without signing', async () => {
    const storage = new S3Storage(server().options({ location: 'cdn', customDomain: 'cdn.example.com' }));
    expect(await storage.url('img/logo 1.png')).toBe(`https://cdn.example.com/${server().prefix}/cdn/img/logo%201.png`);
    const http = new S3Storage(server().options({ customDomain: 'cdn.example.com/static', urlProtocol: 'http:' }));
    expect(await http.url('a.css')).toBe(`http://cdn.example.com/static/${server().prefix}/a.css`);
  });

  it('signs with SigV2 when signatureVersion is s3 (AWS_S3_SIGNATURE_VERSION), presigned URLs included', async () => {
    const storage = new S3Storage(server().options({ location: 'sigv2', signatureVersion: 's3' }));
    const log = recordRequests(storage.client);
    const name = await storage.save('dir/v2 file+1.txt', 'signed the old way');
    expect(log.requests[0].headers.authorization).toMatch(/^AWS [^:]+:[A-Za-z0-9+/]+=*$/);
    log.restore();
    expect((await storage.open(name).read()).toString()).toBe('signed the old way');
    expect(await storage.listdir('dir')).toEqual({ directories: [], files: ['v2 file+1.txt'] });
    const url = new URL(await storage.url(name));
    expect(url.searchParams.get('Signature')).toBeTruthy();
    expect(Number(url.searchParams.get('Expires'))).toBeGreaterThan(Date.now() / 1000);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('signed the old way');
    // Both servers verify SigV2 signatures (s3rver verifies only these): a tampered URL is refused.
    url.searchParams.set('Signature', Buffer.from('not the signature').toString('base64'));
    expect((await fetch(url)).status).toBe(403);
    // Multipart requests sign their sub-resources (?uploads, ?partNumber=&uploadId=).
    const multipart = new S3Storage(server().options({ location: 'sigv2', signatureVersion: 's3', multipartThreshold: 5 * 1024 * 1024 }));
    const large = Buffer.alloc(6 * 1024 * 1024, 9);
    await multipart.save('large.bin', large);
    expect(await multipart.size('large.bin')).toBe(large.byteLength);
    const wrongSecret = new S3Storage(server().options({ location: 'sigv2', signatureVersion: 's3', secretAccessKey: 'not-the-secret' }));
    await expect(wrongSecret.size(name)).rejects.toMatchObject({ code: 'E_PERMISSION_DENIED' });
  });

  it('creates the bucket on first use with autoCreateBucket (AWS_AUTO_CREATE_BUCKET), and says so when it is missing', async () => {
    const bucket = `filefield-auto-${randomSuffix(8).toLowerCase()}`;
    const without = new S3Storage(server().options({ bucket }));
    await expect(without.save('a.txt', 'a')).rejects.toBeInstanceOf(BucketNotFoundError);
    await expect(without.open('a.txt').read()).rejects.toMatchObject({ code: 'E_BUCKET_NOT_FOUND', bucket });
    const storage = new S3Storage(server().options({ bucket, autoCreateBucket: true }));
    await storage.save('a.txt', 'in a new bucket');
    await server().raw.send(new HeadBucketCommand({ Bucket: bucket }));
    expect((await storage.open('a.txt').read()).toString()).toBe('in a new bucket');
    await emptyPrefix(server().raw, bucket, '');
    await server().raw.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  it("falls back to the SDK's default credential chain when no keys are given", async () => {
    const { accessKeyId, secretAccessKey, ...withoutKeys } = server().options({ location: 'chain' });
    // s3rver verifies only SigV2 signatures, so sign that way there to prove the keys were used.
    const signatureVersion = server().verifiesSignatures ? 's3v4' : 's3';
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    try {
      process.env.AWS_ACCESS_KEY_ID = accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
      const storage = new S3Storage({ ...withoutKeys, signatureVersion });
      await storage.save('a.txt', 'keys from the environment');
      expect((await storage.open('a.txt').read()).toString()).toBe('keys from the environment');
      process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
      await expect(new S3Storage({ ...withoutKeys, signatureVersion }).size('a.txt')).rejects.toMatchObject({ code: 'E_PERMISSION_DENIED' });
    } finally {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('accepts a credentials object an S3Client has used, which the SDK marked with `$source`', async () => {
    const { accessKeyId, secretAccessKey, ...rest } = server().options({ location: 'used-credentials' });
    const creds = { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
    const client = new S3Client({
      endpoint: server().endpoint,
      region: rest.region ?? 'us-east-1',
      forcePathStyle: true,
      credentials: creds,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    try {
      await client.send(new HeadBucketCommand({ Bucket: server().bucket }));
      // What made `{ ...creds }` fail with "Invalid setting '$source'".
      expect(Object.keys(creds)).toContain('$source');
      const storage = new S3Storage({ ...rest, ...creds });
      await storage.save('a.txt', 'signed with used credentials');
      expect((await storage.open('a.txt').read()).toString()).toBe('signed with used credentials');
      const viaCredentials = new S3Storage({ ...rest, credentials: creds });
      expect(await viaCredentials.exists('a.txt')).toBe(true);
    } finally {
      client.destroy();
    }
  });

  it('works with an injected S3Client', async () => {
    const client = server().raw;
    const storage = new S3Storage({ bucket: server().bucket, client, location: `${server().prefix}/injected`, querystringAuth: false });
    expect(storage.client).toBe(client);
    await storage.save('a.txt', 'via my client');
    expect((await storage.open('a.txt').read()).toString()).toBe('via my client');
    expect(await storage.url('a.txt')).toBe(`${server().endpoint}/${server().bucket}/${server().prefix}/injected/a.txt`);
  });

  it('reads every setting from the environment with S3Storage.fromEnv', async () => {
    const base = server().options();
    const storage = S3Storage.fromEnv({
      AWS_ACCESS_KEY_ID: base.accessKeyId,
      AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
      AWS_STORAGE_BUCKET_NAME: base.bucket,
      AWS_S3_ENDPOINT_URL: base.endpointUrl,
      AWS_S3_REGION_NAME: base.region,
      AWS_LOCATION: `${server().prefix}/env`,
      AWS_S3_OBJECT_PARAMETERS: '{"CacheControl": "max-age=60"}',
      AWS_HEADERS: '{"Content-Disposition": "inline"}',
      AWS_IS_GZIPPED: 'true',
      GZIP_CONTENT_TYPES: 'text/plain, text/css',
      AWS_QUERYSTRING_AUTH: 'false',
      AWS_S3_FILE_OVERWRITE: 'false',
      AWS_DEFAULT_ACL: 'public-read',
    });
    expect(storage.fileOverwrite).toBe(false);
    await storage.save('a.txt', 'plain text '.repeat(20));
    const second = await storage.save('a.txt', 'another');
    expect(second).toMatch(/^a_[A-Za-z0-9]{7}\.txt$/);
    const stored = await head(storage.key('a.txt'));
    expect(stored.CacheControl).toBe('max-age=60');
    expect(stored.ContentDisposition).toBe('inline');
    expect(stored.ContentEncoding).toBe('gzip');
    const response = await fetch(await storage.url('a.txt'));
    expect(response.status).toBe(200);
  });
});
