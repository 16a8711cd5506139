/**
 * CloudFront signed URLs (AWS_CLOUDFRONT_KEY, AWS_CLOUDFRONT_KEY_ID) on the custom domain: the
 * test makes an RSA key pair and checks each URL as CloudFront would, with the public key: the
 * policy (canned, rebuilt from the URL and Expires; or the custom one in Policy=), its expiry, and
 * the RSA-SHA1 signature over it. The private key never shows in errors, JSON or util.inspect.
 */
import { ConfigurationError } from '@filefield/core';
import { fromEnv, S3Storage, type S3StorageOptions } from '@filefield/s3';
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { expectNoSecret, findSecret } from './support/secrets';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PKCS1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const KEY_ID = 'K2JCJMDEHXQW5F';

const base: S3StorageOptions = {
  bucket: 'media',
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'not-used-for-cloudfront',
  customDomain: 'd111111abcdef8.cloudfront.net',
  cloudfrontKey: PEM,
  cloudfrontKeyId: KEY_ID,
};

/** CloudFront's URL-safe base64: + → -, = → _, / → ~. */
function fromCloudFrontBase64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
}

interface Checked {
  resource: string;
  policy: { Statement: Array<{ Resource: string; Condition: Record<string, Record<string, unknown>> }> };
  params: URLSearchParams;
}

/** What CloudFront checks: the signature over the policy with the key pair's public key. */
function verifySignedUrl(url: string, key: KeyObject = publicKey): Checked {
  const parsed = new URL(url);
  const params = parsed.searchParams;
  expect(params.get('Key-Pair-Id')).toBe(KEY_ID);
  // The resource is the URL without CloudFront's own parameters.
  const own = ['Expires', 'Policy', 'Signature', 'Key-Pair-Id'];
  const rest = [...params].filter(([name]) => !own.includes(name));
  const resource = `${parsed.origin}${parsed.pathname}${rest.length ? `?${url.split('?')[1].split('&').filter((p) => !own.includes(p.split('=')[0])).join('&')}` : ''}`;
  const policyText = params.has('Policy')
    ? fromCloudFrontBase64(params.get('Policy')!).toString('utf8')
    : JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': Number(params.get('Expires')) } } }] });
  const verifier = createVerify('RSA-SHA1');
  verifier.update(policyText);
  expect(verifier.verify(key, fromCloudFrontBase64(params.get('Signature')!))).toBe(true);
  return { resource, policy: JSON.parse(policyText), params };
}

describe('CloudFront signed URLs (AWS_CLOUDFRONT_KEY, AWS_CLOUDFRONT_KEY_ID)', () => {
  it('signs custom-domain URLs with a canned policy that expires after querystringExpire', async () => {
    const storage = new S3Storage({ ...base, location: 'static', querystringExpire: 600 });
    const before = Math.floor(Date.now() / 1000);
    const url = await storage.url('img/logo 1.png');
    const after = Math.ceil(Date.now() / 1000);
    expect(url.startsWith('https://d111111abcdef8.cloudfront.net/static/img/logo%201.png?Expires=')).toBe(true);
    const { policy, params, resource } = verifySignedUrl(url);
    expect(resource).toBe('https://d111111abcdef8.cloudfront.net/static/img/logo%201.png');
    expect(params.has('Policy')).toBe(false);
    const expires = Number(params.get('Expires'));
    expect(expires).toBeGreaterThanOrEqual(before + 600);
    expect(expires).toBeLessThanOrEqual(after + 600);
    expect(policy.Statement[0].Condition.DateLessThan['AWS:EpochTime']).toBe(expires);
    // Another key pair's public key does not verify it: the signature is the key's.
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const verifier = createVerify('RSA-SHA1');
    verifier.update(JSON.stringify(policy));
    expect(verifier.verify(other, fromCloudFrontBase64(params.get('Signature')!))).toBe(false);
  });

  it('uses the per-call expire, and signs the per-call query parameters into the resource', async () => {
    const storage = new S3Storage({ ...base, urlProtocol: 'http:' });
    const url = await storage.url('report.pdf', { expire: 30, parameters: { 'response-content-disposition': 'attachment; filename="r.pdf"' } });
    const { resource, params } = verifySignedUrl(url);
    expect(resource).toBe('http://d111111abcdef8.cloudfront.net/report.pdf?response-content-disposition=attachment%3B%20filename%3D%22r.pdf%22');
    expect(Number(params.get('Expires')) - Date.now() / 1000).toBeLessThanOrEqual(31);
    expect(Number(params.get('Expires')) - Date.now() / 1000).toBeGreaterThan(25);
  });

  it('uses a custom policy for a source IP range and a start time (storage option and per call)', async () => {
    const storage = new S3Storage({ ...base, cloudfrontPolicy: { ipAddress: '192.0.2.0/24' } });
    const { policy, params } = verifySignedUrl(await storage.url('a.txt'));
    expect(params.has('Expires')).toBe(false);
    expect(params.has('Policy')).toBe(true);
    const statement = policy.Statement[0];
    expect(statement.Resource).toBe('https://d111111abcdef8.cloudfront.net/a.txt');
    expect(statement.Condition.IpAddress).toEqual({ 'AWS:SourceIp': '192.0.2.0/24' });
    expect(statement.Condition.DateLessThan['AWS:EpochTime']).toBeGreaterThan(Date.now() / 1000 + 3500);

    const start = new Date('2030-01-01T00:00:00Z');
    const perCall = verifySignedUrl(await storage.url('a.txt', { cloudfrontPolicy: { ipAddress: '198.51.100.7', dateGreaterThan: start } }));
    expect(perCall.policy.Statement[0].Condition.IpAddress).toEqual({ 'AWS:SourceIp': '198.51.100.7/32' });
    expect(perCall.policy.Statement[0].Condition.DateGreaterThan).toEqual({ 'AWS:EpochTime': start.getTime() / 1000 });
  });

  it('accepts PKCS#1 keys, and keys from the environment with \\n escapes', async () => {
    const pkcs1 = new S3Storage({ ...base, cloudfrontKey: PKCS1 });
    verifySignedUrl(await pkcs1.url('a.txt'));
    const options = fromEnv({
      AWS_STORAGE_BUCKET_NAME: 'media',
      AWS_S3_CUSTOM_DOMAIN: 'cdn.example.com',
      AWS_CLOUDFRONT_KEY: PEM.replace(/\n/g, '\\n'),
      AWS_CLOUDFRONT_KEY_ID: KEY_ID,
    });
    expect(options.cloudfrontKeyId).toBe(KEY_ID);
    const storage = new S3Storage({ ...options, accessKeyId: 'k', secretAccessKey: 's' } as S3StorageOptions);
    const { resource } = verifySignedUrl(await storage.url('x/y.css'));
    expect(resource).toBe('https://cdn.example.com/x/y.css');
  });

  it('does not sign with querystringAuth off, nor S3 URLs; PUT URLs stay presigned S3 URLs', async () => {
    const unsigned = new S3Storage({ ...base, querystringAuth: false });
    expect(await unsigned.url('a.txt')).toBe('https://d111111abcdef8.cloudfront.net/a.txt');
    const storage = new S3Storage(base);
    const upload = new URL(await storage.url('a.txt', { method: 'PUT' }));
    expect(upload.host).toBe('media.s3.us-east-1.amazonaws.com');
    expect(upload.searchParams.get('x-id')).toBe('PutObject');
    expect(upload.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses incomplete or malformed CloudFront settings without showing the key', () => {
    const attempt = (options: Partial<S3StorageOptions>) => {
      try {
        new S3Storage({ ...base, ...options } as S3StorageOptions);
      } catch (error) {
        return error;
      }
      throw new Error('no error');
    };
    expect(attempt({ cloudfrontKeyId: undefined })).toBeInstanceOf(ConfigurationError);
    expect(attempt({ customDomain: undefined })).toMatchObject({ message: expect.stringMatching(/AWS_S3_CUSTOM_DOMAIN/) });
    expect(attempt({ cloudfrontKeyId: 'not a key id!' })).toBeInstanceOf(ConfigurationError);
    expect(attempt({ cloudfrontPolicy: { ipAddress: 'everywhere' } })).toBeInstanceOf(ConfigurationError);
    expect(attempt({ cloudfrontPolicy: { dateGreaterThan: 'tomorrow' as never } })).toBeInstanceOf(ConfigurationError);
    expect(attempt({ cloudfrontKey: undefined, cloudfrontKeyId: undefined, cloudfrontPolicy: { ipAddress: '192.0.2.1' } })).toBeInstanceOf(ConfigurationError);
    // A damaged key: refused, and no part of it (the base64 body) shows anywhere in the error.
    const body = PEM.split('\n')[1];
    const damaged = PEM.replace(body, body.split('').reverse().join(''));
    const error = attempt({ cloudfrontKey: damaged });
    expect(error).toBeInstanceOf(ConfigurationError);
    expectNoSecret(error, [body, body.split('').reverse().join('')]);
    const notRsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(attempt({ cloudfrontKey: notRsa })).toMatchObject({ message: expect.stringMatching(/RSA private key/) });
  });

  it('keeps the private key out of util.inspect and JSON of the storage', () => {
    const storage = new S3Storage(base);
    const body = PEM.split('\n')[3];
    expect(findSecret(storage, body)).toBeUndefined();
    expect(inspect(storage, { depth: Infinity, showHidden: true })).not.toContain(body);
  });

  it('refuses a per-call cloudfrontPolicy where no CloudFront URL is made', async () => {
    const s3 = new S3Storage({ bucket: 'media', accessKeyId: 'k', secretAccessKey: 's' });
    await expect(s3.url('a.txt', { cloudfrontPolicy: { ipAddress: '192.0.2.1' } })).rejects.toBeInstanceOf(ConfigurationError);
  });
});
