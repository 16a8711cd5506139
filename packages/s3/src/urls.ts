/**
 * Plain (unsigned) object URLs: computed from the configuration once per storage, so `url()`
 * without query-string auth is string concatenation: no request, no endpoint resolution per call.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
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
