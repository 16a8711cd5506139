/**
 * fromEnv maps each django-storages variable to its option (the only place AWS_* is read), and
 * the endpoint/region/SSL/addressing settings shape the client and the plain URLs.
 */
import { ConfigurationError } from '@filefield/core';
import { ENVIRONMENT_VARIABLES, fromEnv, S3Storage } from '@filefield/s3';

describe('fromEnv', () => {
  it('maps every variable to its option', () => {
    const options = fromEnv({
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'SECRET',
      AWS_SESSION_TOKEN: 'TOKEN',
      AWS_STORAGE_BUCKET_NAME: 'media',
      AWS_DEFAULT_ACL: 'public-read',
      AWS_AUTO_CREATE_BUCKET: 'True',
      AWS_S3_OBJECT_PARAMETERS: '{"CacheControl": "max-age=86400"}',
      AWS_HEADERS: '{"Expires": "Thu, 15 Apr 2010 20:00:00 GMT", "Cache-Control": "overridden"}',
      AWS_QUERYSTRING_AUTH: 'False',
      AWS_QUERYSTRING_EXPIRE: '600',
      AWS_S3_ENCRYPTION: 'aws:kms',
      AWS_S3_KMS_KEY_ID: 'key-1',
      AWS_S3_FILE_OVERWRITE: '0',
      AWS_LOCATION: 'static',
      AWS_IS_GZIPPED: 'yes',
      GZIP_CONTENT_TYPES: 'text/css,application/javascript',
      AWS_S3_REGION_NAME: 'eu-west-1',
      AWS_S3_ENDPOINT_URL: 'http://127.0.0.1:7480',
      AWS_S3_USE_SSL: 'off',
      AWS_S3_CALLING_FORMAT: 'boto.s3.connection.OrdinaryCallingFormat',
      AWS_S3_SIGNATURE_VERSION: 's3',
      AWS_S3_CUSTOM_DOMAIN: 'cdn.example.com',
      AWS_S3_URL_PROTOCOL: 'http',
      AWS_S3_CONDITIONAL_WRITES: 'false',
      AWS_S3_CONNECT_TIMEOUT: '2.5',
      AWS_S3_READ_TIMEOUT: '30',
      AWS_S3_MAX_POOL_CONNECTIONS: '20',
    });
    expect(options).toEqual({
      accessKeyId: 'AKID',
      secretAccessKey: 'SECRET',
      sessionToken: 'TOKEN',
      bucket: 'media',
      defaultAcl: 'public-read',
      autoCreateBucket: true,
      objectParameters: { CacheControl: 'max-age=86400', Expires: new Date('Thu, 15 Apr 2010 20:00:00 GMT') },
      querystringAuth: false,
      querystringExpire: 600,
      encryption: 'aws:kms',
      kmsKeyId: 'key-1',
      fileOverwrite: false,
      location: 'static',
      gzip: true,
      gzipContentTypes: ['text/css', 'application/javascript'],
      region: 'eu-west-1',
      endpointUrl: 'http://127.0.0.1:7480',
      useSsl: false,
      addressingStyle: 'path',
      signatureVersion: 's3',
      customDomain: 'cdn.example.com',
      urlProtocol: 'http:',
      conditionalWrites: false,
      connectTimeout: 2500,
      readTimeout: 30_000,
      maxPoolConnections: 20,
    });
    expect(Object.keys(ENVIRONMENT_VARIABLES).sort()).toEqual(
      [
        'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_STORAGE_BUCKET_NAME', 'AWS_DEFAULT_ACL',
        'AWS_AUTO_CREATE_BUCKET', 'AWS_S3_OBJECT_PARAMETERS', 'AWS_HEADERS', 'AWS_QUERYSTRING_AUTH', 'AWS_QUERYSTRING_EXPIRE',
        'AWS_S3_ENCRYPTION', 'AWS_S3_KMS_KEY_ID', 'AWS_S3_FILE_OVERWRITE', 'AWS_LOCATION', 'AWS_IS_GZIPPED', 'GZIP_CONTENT_TYPES',
        'AWS_S3_REGION_NAME', 'AWS_S3_ENDPOINT_URL', 'AWS_S3_USE_SSL', 'AWS_S3_ADDRESSING_STYLE', 'AWS_S3_CALLING_FORMAT',
        'AWS_S3_SIGNATURE_VERSION', 'AWS_S3_CUSTOM_DOMAIN', 'AWS_S3_URL_PROTOCOL', 'AWS_S3_CONDITIONAL_WRITES',
        'AWS_S3_CONNECT_TIMEOUT', 'AWS_S3_READ_TIMEOUT', 'AWS_S3_MAX_POOL_CONNECTIONS',
        // Issue 13 (see credentials, network, client-config and cloudfront .test.ts).
        'AWS_SECURITY_TOKEN', 'AWS_S3_SESSION_PROFILE', 'AWS_S3_PROXIES', 'AWS_S3_VERIFY', 'AWS_S3_CLIENT_CONFIG',
        'AWS_CLOUDFRONT_KEY', 'AWS_CLOUDFRONT_KEY_ID', 'AWS_S3_ACCESS_KEY_ID', 'AWS_S3_SECRET_ACCESS_KEY',
        // Issue 11 (see transfer-settings.test.ts).
        'AWS_S3_TRANSFER_CONFIG',
      ].sort(),
    );
  });

  it('leaves unset and empty variables out, so the defaults apply', () => {
    expect(fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_LOCATION: '', AWS_S3_CONDITIONAL_WRITES: 'auto' })).toEqual({ bucket: 'b' });
    const storage = S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' });
    // django-storages' defaults: overwrite on, no prefix.
    expect(storage.fileOverwrite).toBe(true);
    expect(storage.location).toBe('');
    expect(storage.bucket).toBe('b');
  });

  it('reads timeouts in seconds as botocore does (decimals too) into milliseconds', () => {
    const timeouts = (connect: string, read: string) => fromEnv({ AWS_S3_CONNECT_TIMEOUT: connect, AWS_S3_READ_TIMEOUT: read });
    expect(timeouts('10', '60')).toEqual({ connectTimeout: 10_000, readTimeout: 60_000 });
    expect(timeouts('0.5', '.25')).toEqual({ connectTimeout: 500, readTimeout: 250 });
    // 1.005 * 1000 is 1004.9999999999999 in floating point: rounded, not truncated.
    expect(timeouts('1.005', '2.0004')).toEqual({ connectTimeout: 1005, readTimeout: 2000 });
    // 0 turns a limit off; a positive value never rounds down to that.
    expect(timeouts('0', '0.0001')).toEqual({ connectTimeout: 0, readTimeout: 1 });
    expect(fromEnv({ AWS_S3_CONNECT_TIMEOUT: ' ', AWS_S3_READ_TIMEOUT: '' })).toEqual({});
  });

  it('refuses malformed timeouts and pool sizes, naming the variable', () => {
    for (const [name, value] of [
      ['AWS_S3_CONNECT_TIMEOUT', '-1'],
      ['AWS_S3_CONNECT_TIMEOUT', '10s'],
      ['AWS_S3_READ_TIMEOUT', '1e3'],
      ['AWS_S3_READ_TIMEOUT', 'forever'],
      ['AWS_S3_MAX_POOL_CONNECTIONS', '0'],
      ['AWS_S3_MAX_POOL_CONNECTIONS', '2.5'],
      ['AWS_S3_MAX_POOL_CONNECTIONS', 'many'],
    ]) {
      expect(() => fromEnv({ [name]: value })).toThrow(ConfigurationError);
      expect(() => fromEnv({ [name]: value })).toThrow(name);
    }
    // Beyond what a timer can wait: refused by the constructor, with the variable named.
    expect(() => S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'b', AWS_S3_READ_TIMEOUT: '9999999' })).toThrow(/readTimeout.*AWS_S3_READ_TIMEOUT/);
  });

  it('lets explicit options win over the environment', () => {
    const storage = S3Storage.fromEnv({ AWS_STORAGE_BUCKET_NAME: 'from-env', AWS_LOCATION: 'env' }, { location: 'code', region: 'us-east-1' });
    expect(storage.bucket).toBe('from-env');
    expect(storage.location).toBe('code');
  });
});

describe('region, endpoint, SSL and addressing style', () => {
  const plain = (options: object) => new S3Storage({ bucket: 'media-bucket', querystringAuth: false, accessKeyId: 'k', secretAccessKey: 's', ...options });

  it('uses AWS virtual-hosted URLs by default, in the region, over https', async () => {
    expect(await plain({}).url('a.txt')).toBe('https://media-bucket.s3.us-east-1.amazonaws.com/a.txt');
    expect(await plain({ region: 'eu-west-1' }).url('a.txt')).toBe('https://media-bucket.s3.eu-west-1.amazonaws.com/a.txt');
    expect(await plain({ region: 'eu-west-1', addressingStyle: 'path' }).url('a.txt')).toBe('https://s3.eu-west-1.amazonaws.com/media-bucket/a.txt');
    expect(await plain({ useSsl: false }).url('a.txt')).toBe('http://media-bucket.s3.us-east-1.amazonaws.com/a.txt');
  });

  it('lets the endpoint override region and SSL; path style by default there, virtual on request', async () => {
    expect(await plain({ endpointUrl: 'https://s3.example.net:8443', useSsl: false }).url('a.txt')).toBe('https://s3.example.net:8443/media-bucket/a.txt');
    expect(await plain({ endpointUrl: 'https://s3.example.net', addressingStyle: 'virtual' }).url('a.txt')).toBe('https://media-bucket.s3.example.net/a.txt');
  });

  it('configures the SDK client the same way', async () => {
    const path = plain({ endpointUrl: 'http://127.0.0.1:7480', region: 'eu-west-1' });
    expect(path.client.config.forcePathStyle).toBe(true);
    expect(await path.client.config.region()).toBe('eu-west-1');
    const endpoint = await path.client.config.endpoint!();
    expect([endpoint.protocol, endpoint.hostname, endpoint.port]).toEqual(['http:', '127.0.0.1', 7480]);
    // S3-compatible servers reject the aws-chunked trailing checksums the SDK sends by default.
    expect(await path.client.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    const aws = plain({ useSsl: false });
    expect(aws.client.config.tls).toBe(false);
    expect(aws.client.config.forcePathStyle).toBe(false);
    expect(await aws.client.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
  });
});
