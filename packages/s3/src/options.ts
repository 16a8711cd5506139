/**
 * The typed options of `S3Storage`, their defaults (django-storages' defaults), and the checks
 * the constructor runs on them. Environment variables are read elsewhere (`from-env.ts`).
 */
import type { ObjectCannedACL, PutObjectCommandInput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError, type StorageOptions } from '@filefield/core';
import { type ResolvedTransfer, resolveTransfer, type TransferOptions } from './transfer';
import { CloudFrontSigner, type CloudFrontPolicy, checkCloudFrontPolicy } from './cloudfront';
import { networkSettings, type ProxyOptions } from './network';
import { checkClientConfig } from './client-config';

/** Extra PutObject parameters for every upload (django-storages' AWS_S3_OBJECT_PARAMETERS). */
export type ObjectParameters = Partial<
  Pick<
    PutObjectCommandInput,
    | 'CacheControl'
    | 'ContentDisposition'
    | 'ContentEncoding'
    | 'ContentLanguage'
    | 'ContentType'
    | 'Expires'
    | 'Metadata'
    | 'StorageClass'
    | 'Tagging'
    | 'WebsiteRedirectLocation'
    | 'ACL'
    | 'ServerSideEncryption'
    | 'SSEKMSKeyId'
    | 'BucketKeyEnabled'
  >
>;

export type AddressingStyle = 'path' | 'virtual' | 'auto';
export type SignatureVersion = 's3v4' | 's3';
export type Encryption = false | 'AES256' | 'aws:kms';

export interface S3StorageOptions extends StorageOptions {
  /** The bucket (AWS_STORAGE_BUCKET_NAME). Required. */
  bucket: string;
  /** Explicit credentials or a provider; by default the SDK's provider chain is used. */
  credentials?: S3ClientConfig['credentials'];
  /** Shorthand for `credentials` (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** AWS_S3_REGION_NAME; default the SDK's region resolution, else `us-east-1`. */
  region?: string;
  /** AWS_S3_ENDPOINT_URL, e.g. `http://127.0.0.1:7480`; overrides region and useSsl. */
  endpointUrl?: string;
  /** AWS_S3_USE_SSL (default true); ignored when `endpointUrl` is set (its scheme decides). */
  useSsl?: boolean;
  /** AWS_S3_ADDRESSING_STYLE / calling format: 'path', 'virtual' or 'auto' (default: path with an endpoint, else auto). */
  addressingStyle?: AddressingStyle;
  /** AWS_S3_SIGNATURE_VERSION: 's3v4' (default) or 's3' (legacy SigV2 for old S3-compatible servers). */
  signatureVersion?: SignatureVersion;
  /** AWS_DEFAULT_ACL: canned ACL sent with every upload; default none (the bucket policy decides). */
  defaultAcl?: ObjectCannedACL;
  /** AWS_AUTO_CREATE_BUCKET: create the bucket on first use (default false). */
  autoCreateBucket?: boolean;
  /** AWS_S3_OBJECT_PARAMETERS: extra upload parameters, or a function of the stored key's name. */
  objectParameters?: ObjectParameters | ((name: string) => ObjectParameters);
  /** AWS_QUERYSTRING_AUTH: `url()` gives presigned URLs (default true) or plain ones. */
  querystringAuth?: boolean;
  /** AWS_QUERYSTRING_EXPIRE: lifetime of presigned URLs in seconds (default 3600). */
  querystringExpire?: number;
  /** AWS_S3_ENCRYPTION: server-side encryption, 'AES256' or 'aws:kms' (`true` means 'AES256'). */
  encryption?: boolean | Encryption;
  /** AWS_S3_KMS_KEY_ID: the KMS key for `encryption: 'aws:kms'` (default: the server's default key). */
  kmsKeyId?: string;
  /** AWS_S3_FILE_OVERWRITE: replace files saved under a taken name (default true). */
  fileOverwrite?: boolean;
  /** AWS_LOCATION: key prefix for every name (default ''). */
  location?: string;
  /**
   * The storage's id in filefield's ledger (default `s3:<endpoint origin or aws:region>/<bucket>/<location>`).
   * Set it when an injected client hides the endpoint, or when two endpoints reach one bucket.
   */
  id?: string;
  /** AWS_IS_GZIPPED: gzip uploads whose Content-Type is in `gzipContentTypes` (default false). */
  gzip?: boolean;
  /** GZIP_CONTENT_TYPES (default text/css, text/javascript, application/javascript, application/x-javascript, image/svg+xml). */
  gzipContentTypes?: string[];
  /** AWS_S3_CUSTOM_DOMAIN: serve URLs from this host (a CDN), e.g. `cdn.example.com` (no trailing slash). */
  customDomain?: string;
  /** AWS_S3_URL_PROTOCOL: scheme for custom-domain URLs (default 'https:'). */
  urlProtocol?: 'https:' | 'http:';
  /**
   * Whether the server honours `If-None-Match: *` on PutObject (unique names in one request).
   * 'auto' (default) probes once per storage; `false` uses HEAD-then-PUT (racy, see README).
   */
  conditionalWrites?: 'auto' | boolean;
  /**
   * AWS_S3_TRANSFER_CONFIG (boto3 TransferConfig's multipart_threshold, multipart_chunksize,
   * max_concurrency): one PutObject up to `multipartThreshold`, else parts of `partSize` bytes,
   * `concurrency` of them in flight (defaults 16 MiB, 8 MiB, 4; see transfer.ts).
   */
  transfer?: TransferOptions;
  /** @deprecated `transfer.multipartThreshold` (the same setting). */
  multipartThreshold?: number;
  /** @deprecated `transfer.partSize` (the same setting). */
  multipartPartSize?: number;
  /** @deprecated `transfer.concurrency` (the same setting). */
  multipartConcurrency?: number;
  /**
   * SDK checksum policy. Default: 'WHEN_REQUIRED' when `endpointUrl` is set (S3-compatible
   * servers such as radosgw and s3rver reject aws-chunked trailing checksums), else the SDK's default.
   */
  requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /**
   * AWS_S3_CONNECT_TIMEOUT (seconds there): milliseconds to establish a connection, DNS, TCP and
   * TLS handshake included (default 10 000; 0 = no limit). Waiting for a free pooled connection
   * does not count.
   */
  connectTimeout?: number;
  /**
   * AWS_S3_READ_TIMEOUT (seconds there): milliseconds a connection may stay silent, while the
   * server has not answered or a body is being read, before the request fails (default 60 000;
   * 0 = no limit). It bounds silence, not the duration of a transfer.
   */
  readTimeout?: number;
  /** AWS_S3_MAX_POOL_CONNECTIONS: connections kept to the S3 host, at most (default 50, the SDK's). */
  maxPoolConnections?: number;
  /**
   * AWS_S3_SESSION_PROFILE: credentials from this profile of the shared files (~/.aws/credentials,
   * ~/.aws/config, or AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE), through the SDK's `fromIni`
   * (static keys, session tokens, role_arn + source_profile, SSO, credential_process).
   */
  sessionProfile?: string;
  /** AWS_S3_PROXIES (JSON): a proxy per endpoint scheme, e.g. `{ https: 'http://proxy.internal:3128' }` (botocore's `proxies`). */
  proxies?: ProxyOptions;
  /** AWS_S3_VERIFY: TLS certificate verification: `true` (default), `false` (off), or the path of a CA bundle (PEM). */
  verify?: boolean | string;
  /**
   * AWS_S3_CLIENT_CONFIG (JSON): more `S3ClientConfig` for the built client (`maxAttempts`,
   * `useDualstackEndpoint`, `retryMode`, ...). A key that a filefield option also sets is refused.
   */
  clientConfig?: S3ClientConfig;
  /** AWS_CLOUDFRONT_KEY: the PEM RSA private key of a CloudFront key pair; `url()` on the `customDomain` is then signed. */
  cloudfrontKey?: string;
  /** AWS_CLOUDFRONT_KEY_ID: the id of that key pair (CloudFront's public key id, `K2JCJMDEHXQW5F`). */
  cloudfrontKeyId?: string;
  /** A CloudFront custom policy for every signed URL: source IP range, start time (default: the canned policy). */
  cloudfrontPolicy?: CloudFrontPolicy;
  /** An S3Client to use instead of building one (region/endpoint/credential options are then refused). */
  client?: S3Client;
}

export const DEFAULT_GZIP_CONTENT_TYPES = [
  'text/css',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'image/svg+xml',
];

/** Options that configure the SDK client, meaningless when a client is injected. */
const CLIENT_OPTIONS: ReadonlyArray<keyof S3StorageOptions> = [
  'credentials',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'region',
  'endpointUrl',
  'useSsl',
  'addressingStyle',
  'signatureVersion',
  'requestChecksumCalculation',
  'connectTimeout',
  'readTimeout',
  'maxPoolConnections',
  'sessionProfile',
  'proxies',
  'verify',
  'clientConfig',
];

/** The client options about connections (see client.ts). */
const CONNECTION_OPTIONS: ReadonlyArray<keyof S3StorageOptions> = ['connectTimeout', 'readTimeout', 'maxPoolConnections', 'proxies', 'verify'];

/** Options of the storage itself, valid with a built or an injected client. */
const STORAGE_OPTIONS: ReadonlyArray<keyof S3StorageOptions> = [
  'bucket',
  'defaultAcl',
  'autoCreateBucket',
  'objectParameters',
  'querystringAuth',
  'querystringExpire',
  'encryption',
  'kmsKeyId',
  'fileOverwrite',
  'location',
  'id',
  'gzip',
  'gzipContentTypes',
  'customDomain',
  'urlProtocol',
  'conditionalWrites',
  'transfer',
  'multipartThreshold',
  'multipartPartSize',
  'multipartConcurrency',
  'cloudfrontKey',
  'cloudfrontKeyId',
  'cloudfrontPolicy',
  'client',
];

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<string>([...STORAGE_OPTIONS, ...CLIENT_OPTIONS]);

/**
 * Keys the AWS SDK adds to objects it was given (`$source` on a credentials object once an
 * S3Client used it), which then travel along when that object is spread into the options.
 */
function isSdkInternalKey(key: string): boolean {
  return key.startsWith('$');
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000;
export const DEFAULT_READ_TIMEOUT = 60_000;
/** The SDK's own default for its http(s) agents. */
export const DEFAULT_MAX_POOL_CONNECTIONS = 50;
/** setTimeout's limit: longer delays fire at once (with a TimeoutOverflowWarning). */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** How the built client connects. */
export interface ConnectionSettings {
  /** Milliseconds; 0 = no limit. */
  connectTimeout: number;
  /** Milliseconds; 0 = no limit. */
  readTimeout: number;
  maxPoolConnections: number;
}

/** The connection options with their defaults; a ConfigurationError naming the option if malformed. */
export function connectionSettings(options: Pick<S3StorageOptions, 'connectTimeout' | 'readTimeout' | 'maxPoolConnections'>): ConnectionSettings {
  return {
    connectTimeout: timeout('connectTimeout', 'AWS_S3_CONNECT_TIMEOUT', options.connectTimeout, DEFAULT_CONNECT_TIMEOUT),
    readTimeout: timeout('readTimeout', 'AWS_S3_READ_TIMEOUT', options.readTimeout, DEFAULT_READ_TIMEOUT),
    maxPoolConnections: positiveInteger('maxPoolConnections', options.maxPoolConnections, DEFAULT_MAX_POOL_CONNECTIONS, 'AWS_S3_MAX_POOL_CONNECTIONS'),
  };
}

function timeout(name: string, variable: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0 || value > MAX_TIMEOUT) {
    throw new ConfigurationError(
      `\`${name}\` must be a whole number of milliseconds from 0 (no limit) to ${MAX_TIMEOUT}, got ${String(value)} (${variable} is in seconds).`,
    );
  }
  return value;
}

/** Options after defaults and checks; what the storage actually runs on. */
export interface ResolvedS3Options {
  bucket: string;
  location: string;
  fileOverwrite: boolean;
  defaultAcl: ObjectCannedACL | undefined;
  autoCreateBucket: boolean;
  objectParameters: (name: string) => ObjectParameters;
  querystringAuth: boolean;
  querystringExpire: number;
  encryption: Encryption;
  kmsKeyId: string | undefined;
  gzip: boolean;
  gzipContentTypes: ReadonlySet<string>;
  customDomain: string | undefined;
  urlProtocol: 'https:' | 'http:';
  conditionalWrites: 'auto' | boolean;
  transfer: ResolvedTransfer;
  signatureVersion: SignatureVersion;
  /** Set with `cloudfrontKey` and `cloudfrontKeyId`: custom-domain URLs are CloudFront signed URLs. */
  cloudfront: { signer: CloudFrontSigner; policy: CloudFrontPolicy } | undefined;
}

export function resolveOptions(options: S3StorageOptions): ResolvedS3Options {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('S3Storage needs an options object with at least `bucket`.');
  }
  const unknown = Object.keys(options).filter((key) => !KNOWN_OPTIONS.has(key) && !isSdkInternalKey(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(
      `Invalid setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} for S3Storage. ` +
        `Known settings: ${[...KNOWN_OPTIONS].join(', ')}.`,
    );
  }
  if (typeof options.bucket !== 'string' || options.bucket.trim() === '') {
    throw new ConfigurationError('S3Storage needs a `bucket` (AWS_STORAGE_BUCKET_NAME).');
  }
  if (options.client !== undefined) {
    const clashing = CLIENT_OPTIONS.filter((key) => options[key] !== undefined);
    if (clashing.length > 0) {
      throw new ConfigurationError(
        `S3Storage got an injected \`client\` and also ${clashing.map((k) => `\`${k}\``).join(', ')}; ` +
          'configure those on the S3Client you inject instead' +
          (clashing.some((key) => CONNECTION_OPTIONS.includes(key))
            ? ' (timeouts and pool size: its requestHandler, e.g. new NodeHttpHandler({ connectionTimeout, socketTimeout, httpAgent, httpsAgent })).'
            : '.'),
      );
    }
  }
  checkCredentials(options);
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    throw new ConfigurationError('S3Storage needs both `accessKeyId` and `secretAccessKey` (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or neither.');
  }
  if (options.accessKeyId !== undefined && options.credentials !== undefined) {
    throw new ConfigurationError('S3Storage got both `credentials` and `accessKeyId`/`secretAccessKey`; pass one of them.');
  }
  if (options.sessionProfile !== undefined) {
    if (typeof options.sessionProfile !== 'string' || !/^[\w.@+:/-]+$/.test(options.sessionProfile)) {
      throw new ConfigurationError('`sessionProfile` (AWS_S3_SESSION_PROFILE) must be the name of a profile of the shared config files, e.g. "media".');
    }
    if (options.accessKeyId !== undefined || options.credentials !== undefined) {
      throw new ConfigurationError(
        'S3Storage got `sessionProfile` (AWS_S3_SESSION_PROFILE) and also `accessKeyId`/`credentials` (AWS_ACCESS_KEY_ID); pass one of them.',
      );
    }
  }
  const querystringExpire = options.querystringExpire ?? 3600;
  if (!Number.isInteger(querystringExpire) || querystringExpire <= 0 || querystringExpire > 604800) {
    throw new ConfigurationError(`\`querystringExpire\` (AWS_QUERYSTRING_EXPIRE) must be a whole number of seconds from 1 to 604800, got ${String(options.querystringExpire)}.`);
  }
  const encryption = resolveEncryption(options.encryption);
  if (options.kmsKeyId !== undefined && encryption !== 'aws:kms') {
    throw new ConfigurationError("`kmsKeyId` (AWS_S3_KMS_KEY_ID) only applies with `encryption: 'aws:kms'`.");
  }
  if (options.region !== undefined && (typeof options.region !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.region))) {
    // The value is not shown: a region that is no region name may be another setting's value (a key).
    throw new ConfigurationError("`region` (AWS_S3_REGION_NAME) must be a region name such as 'eu-west-1' (letters, digits, '-', '_', '.').");
  }
  const customDomain = options.customDomain;
  if (customDomain !== undefined && typeof customDomain !== 'string') {
    throw new ConfigurationError("`customDomain` (AWS_S3_CUSTOM_DOMAIN) must be a string, a host such as 'cdn.example.com'.");
  }
  // Shown in every URL otherwise; and the value is not echoed in the message.
  if (customDomain !== undefined && /^[^/]*@/.test(customDomain.replace(/^[a-z]+:\/\//i, ''))) {
    throw new ConfigurationError('`customDomain` (AWS_S3_CUSTOM_DOMAIN) must not contain credentials (user:password@); it is a host such as cdn.example.com.');
  }
  if (customDomain !== undefined && (customDomain === '' || /^[a-z]+:\/\//i.test(customDomain) || customDomain.endsWith('/'))) {
    throw new ConfigurationError(
      `\`customDomain\` (AWS_S3_CUSTOM_DOMAIN) must be a host (and optional path) without scheme or trailing slash, e.g. 'cdn.example.com'; got '${customDomain}'.`,
    );
  }
  if (options.urlProtocol !== undefined && options.urlProtocol !== 'https:' && options.urlProtocol !== 'http:') {
    throw new ConfigurationError(`\`urlProtocol\` (AWS_S3_URL_PROTOCOL) must be 'https:' or 'http:', got '${String(options.urlProtocol)}'.`);
  }
  if (options.addressingStyle !== undefined && !['path', 'virtual', 'auto'].includes(options.addressingStyle)) {
    throw new ConfigurationError(`\`addressingStyle\` (AWS_S3_ADDRESSING_STYLE) must be 'path', 'virtual' or 'auto', got '${String(options.addressingStyle)}'.`);
  }
  if (options.signatureVersion !== undefined && !['s3v4', 's3'].includes(options.signatureVersion)) {
    throw new ConfigurationError(`\`signatureVersion\` (AWS_S3_SIGNATURE_VERSION) must be 's3v4' or 's3', got '${String(options.signatureVersion)}'.`);
  }
  if (options.conditionalWrites !== undefined && ![true, false, 'auto'].includes(options.conditionalWrites)) {
    throw new ConfigurationError(`\`conditionalWrites\` must be 'auto', true or false, got '${String(options.conditionalWrites)}'.`);
  }
  if (options.endpointUrl !== undefined) parseEndpoint(options.endpointUrl);
  connectionSettings(options);
  networkSettings(options);
  checkClientConfig(options);
  const transfer = resolveTransfer(options);
  const objectParameters = options.objectParameters;
  if (objectParameters !== undefined && typeof objectParameters !== 'function' && (objectParameters === null || typeof objectParameters !== 'object')) {
    throw new ConfigurationError('`objectParameters` (AWS_S3_OBJECT_PARAMETERS) must be an object or a function of the name.');
  }
  const location = (options.location ?? '').replace(/^\/+|\/+$/g, '');
  if (location.split('/').some((part) => part === '..' || part === '.') || /[\u0000-\u001f\\]/.test(location)) {
    throw new ConfigurationError(`\`location\` (AWS_LOCATION) must be a plain key prefix such as 'media/uploads', got '${options.location}'.`);
  }
  return {
    bucket: options.bucket,
    location,
    fileOverwrite: options.fileOverwrite ?? true,
    defaultAcl: options.defaultAcl,
    autoCreateBucket: options.autoCreateBucket ?? false,
    objectParameters:
      typeof objectParameters === 'function' ? objectParameters : () => ({ ...(objectParameters ?? {}) }),
    querystringAuth: options.querystringAuth ?? true,
    querystringExpire,
    encryption,
    kmsKeyId: options.kmsKeyId,
    gzip: options.gzip ?? false,
    gzipContentTypes: new Set((options.gzipContentTypes ?? DEFAULT_GZIP_CONTENT_TYPES).map((type) => type.toLowerCase())),
    customDomain,
    urlProtocol: options.urlProtocol ?? 'https:',
    conditionalWrites: options.conditionalWrites ?? 'auto',
    transfer,
    signatureVersion: options.signatureVersion ?? 's3v4',
    cloudfront: resolveCloudFront(options),
  };
}

function resolveCloudFront(options: S3StorageOptions): ResolvedS3Options['cloudfront'] {
  const { cloudfrontKey: key, cloudfrontKeyId: keyId } = options;
  const policy = checkCloudFrontPolicy(options.cloudfrontPolicy, 'cloudfrontPolicy');
  if (key === undefined && keyId === undefined) {
    if (options.cloudfrontPolicy !== undefined) {
      throw new ConfigurationError('`cloudfrontPolicy` needs `cloudfrontKey` and `cloudfrontKeyId` (AWS_CLOUDFRONT_KEY, AWS_CLOUDFRONT_KEY_ID).');
    }
    return undefined;
  }
  if (key === undefined || keyId === undefined) {
    throw new ConfigurationError('CloudFront signed URLs need both `cloudfrontKey` and `cloudfrontKeyId` (AWS_CLOUDFRONT_KEY, AWS_CLOUDFRONT_KEY_ID), or neither.');
  }
  if (typeof keyId !== 'string' || !/^[A-Za-z0-9_-]+$/.test(keyId)) {
    throw new ConfigurationError("`cloudfrontKeyId` (AWS_CLOUDFRONT_KEY_ID) must be a CloudFront key pair id such as 'K2JCJMDEHXQW5F'.");
  }
  if (typeof key !== 'string' || key.trim() === '') {
    throw new ConfigurationError('`cloudfrontKey` (AWS_CLOUDFRONT_KEY) must be the PEM text of an RSA private key.');
  }
  if (options.customDomain === undefined) {
    throw new ConfigurationError(
      'CloudFront signed URLs (`cloudfrontKey`, AWS_CLOUDFRONT_KEY) are URLs on the CloudFront distribution: set `customDomain` (AWS_S3_CUSTOM_DOMAIN) to its host.',
    );
  }
  return { signer: new CloudFrontSigner(key, keyId), policy };
}

function resolveEncryption(value: S3StorageOptions['encryption']): Encryption {
  if (value === undefined || value === false) return false;
  if (value === true) return 'AES256';
  if (value === 'AES256' || value === 'aws:kms') return value;
  throw new ConfigurationError(`\`encryption\` (AWS_S3_ENCRYPTION) must be false, true, 'AES256' or 'aws:kms', got '${String(value)}'.`);
}

function positiveInteger(name: string, value: number | undefined, fallback: number, variable?: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(`\`${name}\`${variable ? ` (${variable})` : ''} must be a positive whole number, got ${String(value)}.`);
  }
  return value;
}

/**
 * Credentials must have the right shape before any request: a wrong type otherwise surfaces as an
 * SDK error deep inside signing. The messages name the setting and never show its value.
 */
function checkCredentials(options: S3StorageOptions): void {
  const keys = [
    ['accessKeyId', 'AWS_ACCESS_KEY_ID'],
    ['secretAccessKey', 'AWS_SECRET_ACCESS_KEY'],
    ['sessionToken', 'AWS_SESSION_TOKEN'],
  ] as const;
  for (const [name, variable] of keys) {
    const value: unknown = options[name];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new ConfigurationError(`\`${name}\` (${variable}) must be a non-empty string (got ${value === '' ? 'an empty string' : `a ${typeOf(value)}`}).`);
    }
  }
  if (options.sessionToken !== undefined && options.accessKeyId === undefined) {
    throw new ConfigurationError('`sessionToken` (AWS_SESSION_TOKEN) needs `accessKeyId` and `secretAccessKey` too.');
  }
  const credentials: unknown = options.credentials;
  if (credentials === undefined || typeof credentials === 'function') return;
  const identity = credentials as Record<string, unknown> | null;
  if (
    identity === null ||
    typeof identity !== 'object' ||
    typeof identity.accessKeyId !== 'string' ||
    typeof identity.secretAccessKey !== 'string' ||
    identity.accessKeyId === '' ||
    identity.secretAccessKey === ''
  ) {
    throw new ConfigurationError('`credentials` must be a provider function or an object with non-empty string `accessKeyId` and `secretAccessKey`.');
  }
}

/** The kind of a value, for messages that must not show it. */
function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * The endpoint as a URL, or a ConfigurationError that shows no part of it: an endpoint may carry
 * credentials (`http://KEY:SECRET@host`), and a malformed one cannot be split safely into the
 * parts that could be shown. The URL parser's error is not kept as `cause` for the same reason
 * (Node's carries the whole input).
 */
export function parseEndpoint(endpointUrl: string): URL {
  const example = 'e.g. http://127.0.0.1:7480 or https://s3.eu-west-1.amazonaws.com';
  if (typeof endpointUrl !== 'string') {
    throw new ConfigurationError(`\`endpointUrl\` (AWS_S3_ENDPOINT_URL) must be a string, ${example}.`);
  }
  // Checked before parsing, so a malformed URL with credentials gets this message too.
  if (/^[^/?#]*:?\/\/[^/?#]*@/.test(endpointUrl) || /^[^/?#:]+:[^/?#]*@/.test(endpointUrl)) {
    throw new ConfigurationError('`endpointUrl` (AWS_S3_ENDPOINT_URL) must not contain credentials; use accessKeyId/secretAccessKey.');
  }
  let url: URL | undefined;
  try {
    url = new URL(endpointUrl);
  } catch {
    url = undefined;
  }
  if (url === undefined) {
    throw new ConfigurationError(`\`endpointUrl\` (AWS_S3_ENDPOINT_URL) is not a valid URL with a scheme, host and port, ${example}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigurationError(`\`endpointUrl\` (AWS_S3_ENDPOINT_URL) must use http:// or https://, ${example}.`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigurationError('`endpointUrl` (AWS_S3_ENDPOINT_URL) must not contain credentials; use accessKeyId/secretAccessKey.');
  }
  if (url.search !== '' || url.hash !== '') {
    throw new ConfigurationError(`\`endpointUrl\` (AWS_S3_ENDPOINT_URL) must not have a query string or fragment, ${example}.`);
  }
  return url;
}
