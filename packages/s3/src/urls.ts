/**
 * Plain (unsigned) object URLs: computed from the configuration once per storage, so `url()`
 * without query-string auth is string concatenation: no request, no endpoint resolution per call.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import { ConfigurationError } from '@filefield/core';
import type { CloudFrontPolicy } from './cloudfront';
import type { AddressingStyle } from './options';

/**
 * Encode a key for a URL path, keeping its slashes. This is the SDK's own encoding of the
 * `{Key+}` label (per segment, RFC 3986 reserved characters included), so the presigned URLs
 * built in presign.ts have the path getSignedUrl gives, and plain URLs agree with them.
 */
export function encodeKey(key: string): string {
  return key.split('/').map(extendedEncodeURIComponent).join('/');
}

/** A bucket name usable as a DNS label (virtual-hosted style), as the SDK decides for 'auto'. */
function dnsCompatible(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket) && !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
}

export interface UrlBaseInput {
  bucket: string;
  endpoint: URL | undefined;
  region: string;
  addressingStyle: AddressingStyle;
  useSsl: boolean;
}

/** `https://bucket.s3.region.amazonaws.com/`, `http://host:port/bucket/`, ... (ends with '/'). */
export function bucketUrlBase({ bucket, endpoint, region, addressingStyle, useSsl }: UrlBaseInput): string {
  const virtual = addressingStyle === 'virtual' || (addressingStyle === 'auto' && dnsCompatible(bucket));
  if (endpoint) {
    const path = endpoint.pathname.replace(/\/$/, '');
    if (virtual) return `${endpoint.protocol}//${bucket}.${endpoint.host}${path}/`;
    return `${endpoint.protocol}//${endpoint.host}${path}/${encodeURIComponent(bucket)}/`;
  }
  const scheme = useSsl ? 'https:' : 'http:';
  if (virtual) return `${scheme}//${bucket}.s3.${region}.amazonaws.com/`;
  return `${scheme}//s3.${region}.amazonaws.com/${encodeURIComponent(bucket)}/`;
}

/** The same for an injected client, read from its resolved configuration (once). */
export async function bucketUrlBaseFromClient(client: S3Client, bucket: string): Promise<string> {
  const config = client.config;
  const endpoint = config.endpoint ? await config.endpoint() : undefined;
  const region = await config.region();
  const endpointUrl = endpoint
    ? new URL(`${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path ?? ''}`)
    : undefined;
  return bucketUrlBase({
    bucket,
    endpoint: endpointUrl,
    region,
    addressingStyle: config.forcePathStyle ? 'path' : 'auto',
    useSsl: config.tls !== false,
  });
}

/** Per-call options of `S3Storage.url()` (django-storages' `url(name, parameters, expire, http_method)`). */
export interface S3UrlOptions {
  /**
   * Query parameters of the request, signed into the URL: S3's GetObject overrides
   * (`response-content-disposition`, `response-content-type`, `response-cache-control`, ...),
   * `versionId`. On a custom domain they are appended (and covered by a CloudFront signature).
   */
  parameters?: Readonly<Record<string, string>>;
  /** Lifetime in seconds of this URL (default `querystringExpire`), 1 to 604800. */
  expire?: number;
  /** 'GET' (default), or 'PUT': a presigned upload URL on S3 (never on the custom domain). */
  method?: 'GET' | 'PUT';
  /** For a CloudFront signed URL: this URL's custom policy (over the storage's `cloudfrontPolicy`). */
  cloudfrontPolicy?: CloudFrontPolicy;
}

/** Query parameters that the signature itself writes: a caller's would be overwritten or break it. */
const RESERVED_PARAMETERS = /^(x-amz-(algorithm|credential|date|expires|signedheaders|signature|security-token|content-sha256)|x-id|awsaccesskeyid|signature|expires|policy|key-pair-id|hash-algorithm)$/i;

/** The per-call options checked; a ConfigurationError naming the option (never a value that might be a secret). */
export function checkUrlOptions(options: S3UrlOptions): void {
  if (options === null || typeof options !== 'object') throw new ConfigurationError('url() options must be an object { parameters?, expire?, method? }.');
  const { parameters, expire, method, cloudfrontPolicy, ...rest } = options;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ConfigurationError(`Invalid url() option${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `'${key}'`).join(', ')}: known are parameters, expire, method, cloudfrontPolicy.`);
  }
  if (method !== undefined && method !== 'GET' && method !== 'PUT') {
    throw new ConfigurationError(`url() \`method\` must be 'GET' or 'PUT', got '${String(method)}'.`);
  }
  if (expire !== undefined && (!Number.isInteger(expire) || expire <= 0 || expire > 604800)) {
    throw new ConfigurationError(`url() \`expire\` must be a whole number of seconds from 1 to 604800, got ${String(expire)}.`);
  }
  if (parameters !== undefined) {
    if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
      throw new ConfigurationError("url() `parameters` must be an object of query parameters, e.g. { 'response-content-disposition': 'attachment' }.");
    }
    for (const [name, value] of Object.entries(parameters)) {
      if (typeof value !== 'string') throw new ConfigurationError(`url() parameter '${name}' must be a string.`);
      if (name === '' || RESERVED_PARAMETERS.test(name)) {
        throw new ConfigurationError(`url() parameter '${name}' is written by the signature itself; it cannot be set.`);
      }
    }
  }
}

/** `?a=1&b=2` with the SDK's query encoding (sorted, as a signed URL's), or '' for none. */
export function queryString(parameters: Readonly<Record<string, string>> | undefined): string {
  if (parameters === undefined) return '';
  const names = Object.keys(parameters).sort();
  if (names.length === 0) return '';
  return `?${names.map((name) => `${extendedEncodeURIComponent(name)}=${extendedEncodeURIComponent(parameters[name])}`).join('&')}`;
}
