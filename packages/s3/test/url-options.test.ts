/**
 * `url(name, { parameters, expire, method })` (django-storages' `url(name, parameters, expire,
 * http_method)`) and AWS_S3_URL_PROTOCOL. The fast presigner's GET URLs with parameters are byte
 * for byte getSignedUrl's; its PUT URLs are getSignedUrl's without the checksum of an empty
 * body. On s3rver and the external server: a presigned PUT uploads with plain fetch, and radosgw
 * honours response-content-disposition and refuses expired or re-pointed upload URLs.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ConfigurationError } from '@filefield/core';
import { fromEnv, S3Storage, type S3StorageOptions } from '@filefield/s3';
import { Presigner } from '../src/presign';
import { describeOnServers } from './support/servers';

const SIGNING_DATE = new Date('2024-05-06T07:08:09.123Z');
const STATIC = { accessKeyId: 'AKIAFILEFIELDTEST', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const DISPOSITION = 'attachment; filename="Q3 report (final).pdf"';

describe('per-call URL options on the fast presigner', () => {
  const storages: S3Storage[] = [];
  const make = (options: S3StorageOptions) => {
    const storage = new S3Storage(options);
    storages.push(storage);
    return storage;
  };
  afterAll(() => {
    for (const storage of storages) storage.client.destroy();
  });
  const configurations: Array<[string, S3StorageOptions]> = [
    ['path-style endpoint', { bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', ...STATIC }],
    ['AWS virtual-hosted', { bucket: 'media-bucket', region: 'eu-west-1', ...STATIC }],
    ['AWS with a session token', { bucket: 'media-bucket', region: 'us-west-2', ...STATIC, sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' }],
  ];

  it.each(configurations)('GET with response-* parameters equals getSignedUrl with the same GetObject overrides (%s)', async (_label, options) => {
    const storage = make(options);
    const presigner = new Presigner(storage.client, storage.bucket, 3600);
    expect(await presigner.fallbackReason('GET')).toBeUndefined();
    for (const key of ['a.txt', 'dir/file name ü+~.pdf']) {
      const mine = await presigner.url(key, SIGNING_DATE, {
        parameters: { 'response-content-disposition': DISPOSITION, 'response-content-type': 'application/pdf', 'response-cache-control': 'no-store' },
        expiresIn: 90,
      });
      const sdk = await getSignedUrl(
        storage.client,
        new GetObjectCommand({
          Bucket: storage.bucket,
          Key: key,
          ResponseContentDisposition: DISPOSITION,
          ResponseContentType: 'application/pdf',
          ResponseCacheControl: 'no-store',
        }),
        { expiresIn: 90, signingDate: SIGNING_DATE },
      );
      expect(mine).toBe(sdk);
    }
  });

  it.each(configurations)('PUT equals getSignedUrl of PutObject, less the empty-body checksum (%s)', async (_label, options) => {
    const storage = make(options);
    const presigner = new Presigner(storage.client, storage.bucket, 3600);
    expect(await presigner.fallbackReason('PUT')).toBeUndefined();
    const mine = await presigner.url('up/new file.bin', SIGNING_DATE, { method: 'PUT', expiresIn: 300 });
    const sdk = new URL(await getSignedUrl(storage.client, new PutObjectCommand({ Bucket: storage.bucket, Key: 'up/new file.bin' }), { expiresIn: 300, signingDate: SIGNING_DATE }));
    const url = new URL(mine);
    expect(url.searchParams.get('x-id')).toBe('PutObject');
    expect(url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(url.searchParams.has('x-amz-sdk-checksum-algorithm')).toBe(false);
    if (!sdk.searchParams.has('x-amz-checksum-crc32')) {
      // Where the SDK adds no checksum (S3-compatible endpoints: WHEN_REQUIRED) the URLs are the same.
      expect(mine).toBe(sdk.toString());
    } else {
      // AWS's default (WHEN_SUPPORTED): the SDK pins the upload to the CRC32 of an empty body (AAAAAA==).
      expect(sdk.searchParams.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
      for (const name of ['x-amz-checksum-crc32', 'x-amz-sdk-checksum-algorithm', 'X-Amz-Signature']) sdk.searchParams.delete(name);
      url.searchParams.delete('X-Amz-Signature');
      expect(url.toString()).toBe(sdk.toString());
    }
  });

  it('goes through getSignedUrl (with the same parameters) for a client with extra middleware', async () => {
    const client = new S3Client({ region: 'eu-west-1', credentials: STATIC });
    client.middlewareStack.add((next) => (args) => next(args), { step: 'build', name: 'somethingCustom' });
    const storage = make({ bucket: 'media-bucket', client });
    const presigner = new Presigner(client, 'media-bucket', 3600);
    expect(await presigner.fallbackReason('GET')).toMatch(/middleware/);
    const url = new URL(await presigner.url('a.txt', SIGNING_DATE, { parameters: { 'response-content-disposition': 'inline' }, expiresIn: 60 }));
    expect(url.searchParams.get('response-content-disposition')).toBe('inline');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    const put = new URL(await presigner.url('a.txt', SIGNING_DATE, { method: 'PUT' }));
    expect(put.searchParams.get('x-id')).toBe('PutObject');
    expect(put.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(storage.client).toBe(client);
  });

  it('refuses malformed per-call options with a ConfigurationError', async () => {
    const storage = make({ bucket: 'media', ...STATIC });
    const refused = (options: object) => expect(storage.url('a.txt', options as never)).rejects.toBeInstanceOf(ConfigurationError);
    await refused({ method: 'DELETE' });
    await refused({ expire: 0 });
    await refused({ expire: 604801 });
    await refused({ expire: 1.5 });
    await refused({ parameters: { 'X-Amz-Signature': 'x' } });
    await refused({ parameters: { 'x-id': 'DeleteObject' } });
    await refused({ parameters: { 'response-content-type': 5 } });
    await refused({ http_method: 'PUT' });
    // A name is still checked.
    await expect(storage.url('../escape.txt', {})).rejects.toThrow();
  });

  it('appends parameters to plain URLs, and applies expire to SigV2 URLs', async () => {
    const plain = make({ bucket: 'media-bucket', ...STATIC, querystringAuth: false });
    expect(await plain.url('a b.txt', { parameters: { versionId: 'v 1' } })).toBe('https://media-bucket.s3.us-east-1.amazonaws.com/a%20b.txt?versionId=v%201');
    const v2 = make({ bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', ...STATIC, signatureVersion: 's3' });
    const expires = Number(new URL(await v2.url('a.txt', { expire: 60 })).searchParams.get('Expires'));
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(61);
    await expect(v2.url('a.txt', { method: 'PUT' })).rejects.toThrow(/SigV2/);
  });
});

describe('urlProtocol (AWS_S3_URL_PROTOCOL)', () => {
  it('reads http, http: and https from the environment, and uses it for custom-domain URLs', async () => {
    expect(fromEnv({ AWS_S3_URL_PROTOCOL: 'http' }).urlProtocol).toBe('http:');
    expect(fromEnv({ AWS_S3_URL_PROTOCOL: 'http:' }).urlProtocol).toBe('http:');
    expect(fromEnv({ AWS_S3_URL_PROTOCOL: 'https' }).urlProtocol).toBe('https:');
    const storage = S3Storage.fromEnv({
      AWS_STORAGE_BUCKET_NAME: 'media',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_S3_CUSTOM_DOMAIN: 'cdn.example.com',
      AWS_S3_URL_PROTOCOL: 'http',
    });
    expect(await storage.url('a.css')).toBe('http://cdn.example.com/a.css');
    expect(await new S3Storage({ bucket: 'media', accessKeyId: 'k', secretAccessKey: 's', customDomain: 'cdn.example.com' }).url('a.css')).toBe(
      'https://cdn.example.com/a.css',
    );
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'media', AWS_S3_URL_PROTOCOL: 'ftp' })).toThrow(/urlProtocol.*AWS_S3_URL_PROTOCOL/);
  });
});

describeOnServers('per-call URLs over HTTP', (server) => {
  it('uploads with plain fetch to a presigned PUT URL, with the per-call lifetime', async () => {
    const storage = new S3Storage(server().options({ location: 'put-urls' }));
    const url = await storage.url('uploads/from browser.txt', { method: 'PUT', expire: 120 });
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('120');
    const response = await fetch(url, { method: 'PUT', body: 'uploaded without the SDK' });
    expect(response.status).toBe(200);
    expect((await storage.open('uploads/from browser.txt').read()).toString()).toBe('uploaded without the SDK');
  });

  it('uploads through a presigned PUT URL on a custom-domain storage (S3, not the CDN)', async () => {
    const storage = new S3Storage(server().options({ location: 'put-urls', customDomain: 'cdn.example.com' }));
    const url = await storage.url('cdn-upload.txt', { method: 'PUT' });
    expect(url.startsWith(server().endpoint)).toBe(true);
    expect((await fetch(url, { method: 'PUT', body: 'via S3' })).status).toBe(200);
    expect(await storage.exists('cdn-upload.txt')).toBe(true);
  });

  it('serves a GET URL with response-content-disposition as that Content-Disposition', async () => {
    const storage = new S3Storage(server().options({ location: 'get-params' }));
    await storage.save('report.pdf', 'pdf bytes');
    const url = await storage.url('report.pdf', { parameters: { 'response-content-disposition': DISPOSITION, 'response-content-type': 'application/x-report' } });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('pdf bytes');
    if (server().verifiesSignatures) {
      // radosgw: the overrides are honoured, and they are signed (changing one is refused).
      expect(response.headers.get('content-disposition')).toBe(DISPOSITION);
      expect(response.headers.get('content-type')).toBe('application/x-report');
      const changed = new URL(url);
      changed.searchParams.set('response-content-disposition', 'inline');
      expect((await fetch(changed)).status).toBe(403);
    }
  });

  it('has upload URLs refused when expired or re-pointed (servers that verify SigV4)', async () => {
    if (!server().verifiesSignatures) return; // s3rver does not verify SigV4 signatures
    const storage = new S3Storage(server().options({ location: 'put-urls' }));
    const presigner = new Presigner(storage.client, storage.bucket, 3600);
    // Signed 10 s ago for 5 s: expired, without waiting.
    const expired = await presigner.url(storage.key('late.txt'), new Date(Date.now() - 10_000), { method: 'PUT', expiresIn: 5 });
    expect((await fetch(expired, { method: 'PUT', body: 'late' })).status).toBe(403);
    const url = await storage.url('mine.txt', { method: 'PUT' });
    expect((await fetch(url.replace('/mine.txt?', '/other.txt?'), { method: 'PUT', body: 'x' })).status).toBe(403);
    // A GET URL does not upload.
    expect((await fetch(await storage.url('mine.txt'), { method: 'PUT', body: 'x' })).status).toBe(403);
    expect(await storage.exists('late.txt')).toBe(false);
    expect(await storage.exists('other.txt')).toBe(false);
  });
});
