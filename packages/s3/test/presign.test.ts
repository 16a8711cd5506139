/**
 * Presigned URLs signed directly with the SDK's SigV4 signer (src/presign.ts) instead of
 * getSignedUrl: byte for byte the URL getSignedUrl gives for the same key and signing time, for
 * each addressing style and setting that shapes it; fetched over HTTP on s3rver and on the
 * external server, which verifies SigV4 (radosgw in CI) and refuses tampered and expired ones.
 * Configurations the fast path does not model go through getSignedUrl.
 */
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { Presigner } from '../src/presign';
import { describeOnServers } from './support/servers';

const SIGNING_DATE = new Date('2024-05-06T07:08:09.123Z');
const STATIC = { accessKeyId: 'AKIAFILEFIELDTEST', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

/** Storage names whose keys need encoding: spaces, unicode, `+`, `~`, `%`, RFC 3986 reserved characters. */
const NAMES = [
  'a.txt',
  'dir/file name.txt',
  'ünïcødé/日本語 ファイル.txt',
  'emoji 😀.png',
  'a+b=c&d.txt',
  'tilde~name_-.txt',
  '100% done.txt',
  '%2F not a slash %20.txt',
  "bang!quote'paren(1)star*.txt",
  'q?hash#semi;colon:at@dollar$comma,.txt',
  '[brackets] {braces} <angle> |pipe| ^caret` "dq".txt',
  'deep/er/still/deeper/x.bin',
];

/** S3 keys that storage names cannot be, but the SDK encodes too. */
const RAW_KEYS = ['/leading', 'a//b', 'trailing/', './x', '../x', 'a/./b/../c', ' ', 'x%2Fy'];

function sdkUrl(client: S3Client, bucket: string, key: string, expiresIn: number, signingDate: Date): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn, signingDate });
}

/** The storage's presigner as objectUrl builds it, for URLs at a chosen signing time. */
function presignerOf(storage: S3Storage, expiresIn = 3600): Presigner {
  return new Presigner(storage.client, storage.bucket, expiresIn);
}

/** The signing time a presigned URL carries (X-Amz-Date, whole seconds). */
function signingDateOf(url: string): Date {
  const amzDate = new URL(url).searchParams.get('X-Amz-Date');
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate ?? '');
  if (!match) throw new Error(`no X-Amz-Date in ${url}`);
  const [, y, mo, d, h, mi, s] = match;
  return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
}

async function expectSameAsSdk(storage: S3Storage, expiresIn: number, names = NAMES): Promise<void> {
  const presigner = presignerOf(storage, expiresIn);
  expect(await presigner.fallbackReason()).toBeUndefined();
  for (const name of names) {
    const key = storage.key(name);
    expect(await presigner.url(key, SIGNING_DATE)).toBe(await sdkUrl(storage.client, storage.bucket, key, expiresIn, SIGNING_DATE));
  }
}

describe('fast presigned URLs are byte-identical to getSignedUrl', () => {
  const storages: S3Storage[] = [];
  const make = (options: S3StorageOptions) => {
    const storage = new S3Storage(options);
    storages.push(storage);
    return storage;
  };
  const injected = (bucket: string, config: S3ClientConfig) => {
    const client = new S3Client({ credentials: STATIC, ...config });
    return make({ bucket, client });
  };
  afterAll(() => {
    for (const storage of storages) storage.client.destroy();
  });

  const configurations: Array<[string, S3StorageOptions]> = [
    ['path-style endpoint (s3rver, radosgw)', { bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', ...STATIC }],
    ['path-style https endpoint, custom port and base path', { bucket: 'media', endpointUrl: 'https://s3.example.net:8443/base/', region: 'eu-central-1', ...STATIC }],
    ['endpoint on the default port', { bucket: 'media', endpointUrl: 'https://s3.example.net:443', ...STATIC }],
    ['virtual-hosted endpoint', { bucket: 'media', endpointUrl: 'http://minio.example.net:9000', addressingStyle: 'virtual', ...STATIC }],
    ['AWS us-east-1, virtual-hosted by default', { bucket: 'media-bucket', ...STATIC }],
    ['AWS eu-west-1', { bucket: 'media-bucket', region: 'eu-west-1', ...STATIC }],
    ['AWS path-style', { bucket: 'media-bucket', region: 'eu-west-1', addressingStyle: 'path', ...STATIC }],
    ['AWS, bucket with dots (path-style under auto)', { bucket: 'media.example.com', region: 'eu-west-1', ...STATIC }],
    ['AWS without SSL', { bucket: 'media-bucket', region: 'eu-west-1', useSsl: false, ...STATIC }],
    ['location prefix', { bucket: 'media-bucket', region: 'eu-west-1', location: 'uploads/2024 q3/ü', ...STATIC }],
    ['session token', { bucket: 'media-bucket', region: 'eu-west-1', ...STATIC, sessionToken: 'FwoGZXIvYXdzE+/token=with/odd+chars==' }],
    ['session token on an endpoint', { bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', location: 'p', ...STATIC, sessionToken: 'tok en+/=' }],
    ['WHEN_SUPPORTED checksums on an endpoint (x-amz-checksum-mode)', { bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', requestChecksumCalculation: 'WHEN_SUPPORTED', ...STATIC }],
  ];

  it.each(configurations)('%s', async (_label, options) => {
    await expectSameAsSdk(make(options), 3600);
  }, 30_000);

  it.each([1, 60, 3600, 86_400, 604_800])('querystringExpire %i', async (expire) => {
    const storage = make({ bucket: 'media-bucket', region: 'eu-west-1', querystringExpire: expire, ...STATIC });
    await expectSameAsSdk(storage, expire, ['a b.txt']);
    expect(new URL(await storage.url('a b.txt')).searchParams.get('X-Amz-Expires')).toBe(String(expire));
  }, 30_000);

  it('encodes keys that storage names cannot be as the SDK does', async () => {
    for (const storage of [make({ bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', ...STATIC }), make({ bucket: 'media-bucket', ...STATIC })]) {
      const presigner = presignerOf(storage);
      expect(await presigner.fallbackReason()).toBeUndefined();
      for (const key of RAW_KEYS) {
        expect(await presigner.url(key, SIGNING_DATE)).toBe(await sdkUrl(storage.client, storage.bucket, key, 3600, SIGNING_DATE));
      }
    }
  }, 30_000);

  const endpointVariants: Array<[string, S3ClientConfig]> = [
    ['a plain injected client', { region: 'eu-west-1' }],
    ['an injected client with a path-style endpoint', { region: 'us-east-1', endpoint: 'http://127.0.0.1:7480', forcePathStyle: true }],
    ['FIPS', { region: 'us-east-1', useFipsEndpoint: true }],
    ['dual-stack', { region: 'eu-west-1', useDualstackEndpoint: true }],
    ['Transfer Acceleration', { region: 'eu-west-1', useAccelerateEndpoint: true }],
    ['the global endpoint', { region: 'us-east-1', useGlobalEndpoint: true }],
    ['region aws-global', { region: 'aws-global' }],
    ['a China region', { region: 'cn-north-1' }],
    ['a GovCloud region with FIPS and dual-stack', { region: 'us-gov-west-1', useFipsEndpoint: true, useDualstackEndpoint: true }],
  ];

  it.each(endpointVariants)('%s (endpoint from the SDK ruleset, resolved once)', async (_label, config) => {
    await expectSameAsSdk(injected('media-bucket', config), 3600, NAMES.slice(0, 4));
  }, 30_000);

  it('gives the storage URLs those of getSignedUrl, without running the middleware stack after the first', async () => {
    const storage = make({ bucket: 'media-bucket', region: 'eu-west-1', location: 'loc', ...STATIC, sessionToken: 'token' });
    await storage.url('warm-up.txt');
    const clone = jest.spyOn(storage.client.middlewareStack, 'clone');
    const log = recordRequests(storage.client);
    for (const name of NAMES) {
      const url = await storage.url(name);
      expect(url).toBe(await sdkUrl(storage.client, storage.bucket, storage.key(name), 3600, signingDateOf(url)));
    }
    // getSignedUrl clones the stack once per URL: the sdkUrl calls above, and none for url().
    expect(clone).toHaveBeenCalledTimes(NAMES.length);
    expect(log.count).toBe(0);
    clone.mockRestore();
    log.restore();
  }, 30_000);

  it('asks the client for credentials for every URL, so expiring ones are refreshed', async () => {
    let calls = 0;
    // Temporary credentials within the SDK's refresh window (5 min before expiry) are fetched anew.
    const provider = async () => {
      calls += 1;
      return { ...STATIC, sessionToken: `session-${calls}`, expiration: new Date(Date.now() + 60_000) };
    };
    const storage = injected('media-bucket', { region: 'eu-west-1', credentials: provider });
    expect(await presignerOf(storage).fallbackReason()).toBeUndefined();
    const first = new URL(await storage.url('a.txt'));
    const second = new URL(await storage.url('a.txt'));
    expect(first.searchParams.get('X-Amz-Security-Token')).not.toBe(second.searchParams.get('X-Amz-Security-Token'));
    expect(second.searchParams.get('X-Amz-Security-Token')).toBe(`session-${calls}`);

    let longCalls = 0;
    const longLived = async () => {
      longCalls += 1;
      return { ...STATIC, sessionToken: 'long', expiration: new Date(Date.now() + 3_600_000) };
    };
    const cached = injected('media-bucket', { region: 'eu-west-1', credentials: longLived });
    for (let i = 0; i < 20; i += 1) await cached.url(`f${i}.txt`);
    expect(longCalls).toBe(1);
    // A provider replaced on the client after the first URL is the one used next.
    cached.client.config.credentials = async () => ({ ...STATIC, sessionToken: 'replaced' });
    expect(new URL(await cached.url('a.txt')).searchParams.get('X-Amz-Security-Token')).toBe('replaced');
  }, 30_000);
});

describe('configurations that go through getSignedUrl', () => {
  const clients: S3Client[] = [];
  const client = (config: S3ClientConfig) => {
    const made = new S3Client({ credentials: STATIC, ...config });
    clients.push(made);
    return made;
  };
  afterAll(() => {
    for (const made of clients) made.destroy();
  });

  it('an injected client with its own middleware, whose effect the URL keeps', async () => {
    const custom = client({ region: 'eu-west-1' });
    custom.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { query: Record<string, string> }).query['x-tenant'] = 'blue';
        return next(args);
      },
      { step: 'build', name: 'tenantQuery' },
    );
    const presigner = new Presigner(custom, 'media-bucket', 3600);
    expect(await presigner.fallbackReason()).toMatch(/middleware/);
    const url = await presigner.url('a b.txt', SIGNING_DATE);
    expect(url).toBe(await sdkUrl(custom, 'media-bucket', 'a b.txt', 3600, SIGNING_DATE));
    expect(new URL(url).searchParams.get('x-tenant')).toBe('blue');
    // Through the storage as well.
    const storage = new S3Storage({ bucket: 'media-bucket', client: custom });
    expect(new URL(await storage.url('a.txt')).searchParams.get('x-tenant')).toBe('blue');
  }, 30_000);

  it('a custom endpointProvider, and bucketEndpoint', async () => {
    const provider = client({ region: 'eu-west-1', endpointProvider: () => ({ url: new URL('https://objects.example.net/media-bucket') }) });
    const viaProvider = new Presigner(provider, 'media-bucket', 3600);
    expect(await viaProvider.fallbackReason()).toMatch(/endpointProvider/);
    expect(await viaProvider.url('k.txt', SIGNING_DATE)).toBe(await sdkUrl(provider, 'media-bucket', 'k.txt', 3600, SIGNING_DATE));
    const bucketEndpoint = client({ region: 'eu-west-1', bucketEndpoint: true });
    expect(await new Presigner(bucketEndpoint, 'https://media.example.net', 3600).fallbackReason()).toMatch(/bucketEndpoint/);
  }, 30_000);

  it('buckets the SDK signs with another scheme: S3 Express directory buckets, Multi-Region Access Points', async () => {
    const aws = client({ region: 'us-west-2' });
    expect(await new Presigner(aws, 'media--usw2-az1--x-s3', 3600).fallbackReason()).toMatch(/sigv4-s3express/);
    expect(await new Presigner(aws, 'arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap', 3600).fallbackReason()).toMatch(/sigv4a/);
  }, 30_000);
});

describeOnServers('fast presigned URLs over HTTP', (server) => {
  const storages: S3Storage[] = [];
  const make = (overrides: Partial<S3StorageOptions> = {}) => {
    const storage = new S3Storage(server().options({ location: 'presign', ...overrides }));
    storages.push(storage);
    return storage;
  };
  afterAll(() => {
    for (const storage of storages) storage.client.destroy();
  });
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));

  it('serve the object, under names that need encoding', async () => {
    const storage = make();
    expect(await presignerOf(storage).fallbackReason()).toBeUndefined();
    for (const name of NAMES) {
      await storage.save(name, bytes);
      const url = await storage.url(name);
      expect(url).toContain('X-Amz-Signature=');
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    }
  }, 120_000);

  it('are refused once tampered with (servers that verify SigV4)', async () => {
    if (!server().verifiesSignatures) return; // s3rver does not verify SigV4 signatures
    const storage = make();
    await storage.save('one file.txt', 'one');
    await storage.save('two file.txt', 'two');
    const url = await storage.url('one file.txt');
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url.replace('/one%20file.txt?', '/two%20file.txt?'))).status).toBe(403);
    const signature = new URL(url);
    const original = signature.searchParams.get('X-Amz-Signature') ?? '';
    signature.searchParams.set('X-Amz-Signature', `${original.slice(0, -1)}${original.endsWith('0') ? '1' : '0'}`);
    expect((await fetch(signature)).status).toBe(403);
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect((await fetch(longer)).status).toBe(403);
  }, 60_000);

  it('are refused once expired (servers that verify SigV4)', async () => {
    if (!server().verifiesSignatures) return;
    const storage = make({ querystringExpire: 60 });
    await storage.save('expiring.txt', 'soon gone');
    const presigner = presignerOf(storage, 60);
    expect((await fetch(await presigner.url(storage.key('expiring.txt'), new Date()))).status).toBe(200);
    // Signed two minutes ago for one minute: expired, though the signature itself is valid.
    const expired = await presigner.url(storage.key('expiring.txt'), new Date(Date.now() - 120_000));
    expect((await fetch(expired)).status).toBe(403);
  }, 60_000);
});
