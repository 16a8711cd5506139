/**
 * AWS Signature Version 2 (`signatureVersion: 's3'`), for legacy S3-compatible servers that
 * predate SigV4. Plugged into the SDK as the signer of its auth scheme, so every command is
 * signed this way; presigned URLs use the query-string form. AWS itself has refused SigV2 for
 * new buckets since 2020: use it only where a server requires it.
 *
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { createHmac } from 'node:crypto';

/** The structural parts of the SDK's HttpRequest a signer reads and writes. */
interface SignableRequest {
  method: string;
  hostname: string;
  path: string;
  query?: Record<string, string | string[] | null | undefined>;
  headers: Record<string, string>;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Query parameters that are part of the signed resource (the rest, e.g. `x-id`, are not). */
const SUBRESOURCES = new Set([
  'acl', 'cors', 'delete', 'lifecycle', 'location', 'logging', 'notification', 'partNumber', 'policy',
  'requestPayment', 'restore', 'tagging', 'torrent', 'uploadId', 'uploads', 'versionId', 'versioning',
  'versions', 'website', 'response-cache-control', 'response-content-disposition', 'response-content-encoding',
  'response-content-language', 'response-content-type', 'response-expires',
]);

/** The SDK auth scheme that signs every request with SigV2 for `bucket`. */
export function sigV2AuthSchemes(bucket: string): NonNullable<S3ClientConfig['httpAuthSchemes']> {
  return [
    {
      schemeId: 'aws.auth#sigv4',
      identityProvider: (config) => config.getIdentityProvider('aws.auth#sigv4'),
      signer: {
        async sign(httpRequest, identity) {
          const request = httpRequest as unknown as SignableRequest;
          signRequest(request, bucket, identity as unknown as Credentials, new Date());
          return httpRequest;
        },
      },
    },
  ];
}

/** Sign `request` in place (Authorization header). */
export function signRequest(request: SignableRequest, bucket: string, credentials: Credentials, now: Date): void {
  const headers = request.headers;
  for (const name of Object.keys(headers)) {
    // SigV4 leftovers would otherwise be signed as x-amz headers.
    if (['authorization', 'date', 'x-amz-date', 'x-amz-content-sha256'].includes(name.toLowerCase())) delete headers[name];
  }
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  // Bucket-level requests go to `/bucket` (as boto sends them), not `/bucket/`: servers that
  // rebuild the resource from the parsed bucket name (s3rver) sign it without the slash.
  if (request.path === `/${bucket}/`) request.path = `/${bucket}`;
  // With x-amz-date (Node cannot always control the Date header) the Date line stays empty and
  // the timestamp is signed as an x-amz header, as the SigV2 specification says.
  headers['x-amz-date'] = now.toUTCString();
  const stringToSign = [
    request.method.toUpperCase(),
    header(headers, 'content-md5'),
    header(headers, 'content-type'),
    '',
    ...amzHeaders(headers),
    canonicalResource(request, bucket),
  ].join('\n');
  headers.authorization = `AWS ${credentials.accessKeyId}:${hmac(credentials.secretAccessKey, stringToSign)}`;
}

/**
 * A SigV2 query-string-authenticated GET URL for `url` (already path-encoded), valid until
 * `expiresIn` seconds from `now`.
 */
export function presignV2(url: string, bucket: string, credentials: Credentials, expiresIn: number, now: Date): string {
  const parsed = new URL(url);
  const expires = Math.floor(now.getTime() / 1000) + expiresIn;
  const amz: Record<string, string> = credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {};
  const resource = canonicalResource({ method: 'GET', hostname: parsed.hostname, path: parsed.pathname, headers: {} }, bucket);
  const stringToSign = ['GET', '', '', String(expires), ...amzHeaders(amz), resource].join('\n');
  parsed.searchParams.set('AWSAccessKeyId', credentials.accessKeyId);
  parsed.searchParams.set('Expires', String(expires));
  parsed.searchParams.set('Signature', hmac(credentials.secretAccessKey, stringToSign));
  if (credentials.sessionToken) parsed.searchParams.set('x-amz-security-token', credentials.sessionToken);
  return parsed.toString();
}

function hmac(secret: string, text: string): string {
  return createHmac('sha1', secret).update(text, 'utf8').digest('base64');
}

function header(headers: Record<string, string>, name: string): string {
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? '' : headers[key];
}

function amzHeaders(headers: Record<string, string>): string[] {
  return Object.keys(headers)
    .filter((name) => name.toLowerCase().startsWith('x-amz-'))
    .map((name) => [name.toLowerCase(), String(headers[name]).trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}:${value}`);
}

/** `/bucket/key?subresource`: the bucket comes first even when it is in the host name. */
function canonicalResource(request: SignableRequest, bucket: string): string {
  const virtualHosted = request.hostname === bucket || request.hostname.startsWith(`${bucket}.`);
  let resource = (virtualHosted ? `/${bucket}` : '') + (request.path || '/');
  if (virtualHosted && resource === `/${bucket}`) resource += '/';
  const subresources = Object.entries(request.query ?? {})
    .filter(([name]) => SUBRESOURCES.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => {
      const single = Array.isArray(value) ? value[0] : value;
      return single === null || single === undefined || single === '' ? name : `${name}=${single}`;
    });
  return subresources.length > 0 ? `${resource}?${subresources.join('&')}` : resource;
}
