/**
 * S3 failures as filefield's typed errors. The SDK error is kept as `cause`; messages name the
 * bucket, key and S3 error code, never a credential (requests carry only signatures, and the
 * messages below are built from fields that cannot hold the secret key).
 */
import {
  ConfigurationError,
  FileFieldError,
  FileNotFoundError,
  PermissionDeniedError,
  StorageTimeoutError,
  StorageUnavailableError,
} from '@filefield/core';
import { certificateError } from './network';

/** The configured bucket does not exist (S3 NoSuchBucket). Create it, or set `autoCreateBucket`. */
export class BucketNotFoundError extends FileFieldError {
  readonly bucket: string;

  constructor(bucket: string, options?: { cause?: unknown }) {
    super(
      'E_BUCKET_NOT_FOUND',
      `S3 bucket '${bucket}' does not exist. Create it, or set autoCreateBucket (AWS_AUTO_CREATE_BUCKET=true).`,
      options,
    );
    this.bucket = bucket;
  }
}

/** What an S3 call was doing, for the error message. */
export interface S3CallContext {
  bucket: string;
  operation: string;
  /** The storage name (not the prefixed key) when the call is about one file. */
  name?: string;
  /** The S3 key, shown in messages about access. */
  key?: string;
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $fault?: string;
  errors?: unknown[];
  cause?: unknown;
  message?: string;
  filefieldTimeout?: TimeoutKind;
}

/** Which limit ended a request. */
export type TimeoutKind = 'connect' | 'read' | 'request' | 'system' | 'server' | 'unknown';

/**
 * The error the built client's agents fail a connection with when it is not established within
 * `connectTimeout`. Named `TimeoutError` as the SDK's own timeouts are, so the SDK retries it.
 */
export function connectTimeoutError(host: string, port: number | string, timeoutMs: number, tls: boolean): Error {
  const error = new Error(
    `filefield: no connection to ${host}:${port} within connectTimeout (${timeoutMs} ms${tls ? ', TLS handshake included' : ''}).`,
  ) as Error & SdkErrorShape;
  error.name = 'TimeoutError';
  error.filefieldTimeout = 'connect';
  return error;
}

/**
 * Which timeout ended an SDK call, if one did. @smithy/node-http-handler names its timeouts
 * `TimeoutError` but also renames ECONNRESET and EPIPE failures so (to have the SDK retry them):
 * those are connection failures, not timeouts.
 */
export function timeoutKind(error: unknown, depth = 0): TimeoutKind | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined;
  const shape = error as SdkErrorShape;
  if (shape.filefieldTimeout !== undefined) return shape.filefieldTimeout;
  const message = typeof shape.message === 'string' ? shape.message : '';
  if (message.includes('filefield: no connection to') || message.includes('did not establish a connection with the server within')) return 'connect';
  if (/timed out after \d+ ms of inactivity/.test(message)) return 'read';
  if (/exceeded the configured \d+ ms requestTimeout/.test(message)) return 'request';
  const code = s3ErrorCode(error);
  if (code === 'RequestTimeout' || code === 'RequestTimeoutException') return 'server';
  if (shape.code === 'ECONNRESET' || shape.code === 'EPIPE') return undefined;
  if (code === 'ETIMEDOUT') return 'system';
  if (shape.name === 'TimeoutError') return 'unknown';
  if (shape.cause !== undefined) return timeoutKind(shape.cause, depth + 1);
  if (Array.isArray(shape.errors) && shape.errors.length > 0) return timeoutKind(shape.errors[0], depth + 1);
  return undefined;
}

function timeoutDetail(kind: TimeoutKind, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const ms = /(\d+) ms/.exec(message)?.[1];
  const limit = ms === undefined ? '' : `${ms} ms, `;
  switch (kind) {
    case 'connect':
      return `no connection within connectTimeout (${limit}AWS_S3_CONNECT_TIMEOUT)`;
    case 'read':
      return `the server sent nothing for readTimeout (${limit}AWS_S3_READ_TIMEOUT)`;
    case 'request':
      return `the request ran longer than the client's requestTimeout${ms === undefined ? '' : ` (${ms} ms)`}`;
    case 'system':
      return "the operating system's TCP timeout expired (ETIMEDOUT)";
    case 'server':
      return 'the server gave up waiting for the request (RequestTimeout)';
    default:
      return 'the SDK reported a timeout';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

const ACCESS_CODES = new Set([
  'AccessDenied',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidToken',
  'ExpiredToken',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
]);

/** The S3 error code (`NoSuchKey`, `AccessDenied`, ...) or Node error code of an SDK failure. */
export function s3ErrorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const shape = error as SdkErrorShape;
  if (typeof shape.Code === 'string') return shape.Code;
  if (typeof shape.code === 'string') return shape.code;
  // Happy-eyeballs connection failures arrive as an AggregateError of per-address errors.
  if (Array.isArray(shape.errors) && shape.errors.length > 0) return s3ErrorCode(shape.errors[0]);
  if (typeof shape.name === 'string' && shape.name !== 'Error') return shape.name;
  // A Node error from another realm (a Jest sandbox, some bundlers) reaches us only as the SDK's
  // "AWS SDK error wrapper for Error: connect ECONNREFUSED ..." message.
  const message = error instanceof Error ? error.message : '';
  return [...NETWORK_CODES].find((code) => message.includes(code));
}

export function s3StatusCode(error: unknown): number | undefined {
  return (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
}

/** Map an SDK failure to a filefield error; FileFieldErrors pass through unchanged. */
export function mapS3Error(error: unknown, context: S3CallContext): Error {
  if (error instanceof FileFieldError) return error;
  withoutRawResponse(error);
  const untrusted = certificateError(error, context.operation, context.bucket);
  if (untrusted !== undefined) return untrusted;
  const code = s3ErrorCode(error);
  const status = s3StatusCode(error);
  const where = context.key === undefined ? `bucket '${context.bucket}'` : `'${context.key}' in bucket '${context.bucket}'`;
  // HEAD responses have no body, so the SDK knows no S3 code for them ('Unknown').
  const named = code !== undefined && code !== 'Unknown' ? code : undefined;
  const detail = [named, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ') || 'unknown error';

  const timeout = timeoutKind(error);
  if (timeout !== undefined) {
    const attempts = (error as SdkErrorShape).$metadata?.attempts;
    return new StorageTimeoutError(
      `S3 ${context.operation} on ${where} timed out: ${timeoutDetail(timeout, error)}${attempts !== undefined && attempts > 1 ? `, on each of ${attempts} attempts` : ''}.`,
      { cause: error },
    );
  }
  if (code === 'NoSuchBucket') return new BucketNotFoundError(context.bucket, { cause: error });
  if (code === 'NoSuchKey' || ((code === 'NotFound' || status === 404) && context.name !== undefined)) {
    return new FileNotFoundError(context.name ?? context.key ?? '', { cause: error });
  }
  if ((code !== undefined && ACCESS_CODES.has(code)) || status === 403) {
    return new PermissionDeniedError(
      `S3 refused ${context.operation} on ${where} (${detail}). Check the access key, the secret key and the bucket policy.`,
      { cause: error },
    );
  }
  if (code === 'InvalidBucketName' || code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed') {
    return new ConfigurationError(
      `S3 refused ${context.operation} on ${where} (${detail}): check the bucket name, region (AWS_S3_REGION_NAME) and endpoint (AWS_S3_ENDPOINT_URL).`,
      { cause: error },
    );
  }
  if (code === 'CredentialsProviderError') {
    return new ConfigurationError(
      'No S3 credentials found: set accessKeyId/secretAccessKey (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or configure the AWS SDK credential chain.',
      { cause: error },
    );
  }
  if (error instanceof Error && /Region is missing/i.test(error.message)) {
    return new ConfigurationError('No S3 region: set `region` (AWS_S3_REGION_NAME) or `endpointUrl` (AWS_S3_ENDPOINT_URL).', { cause: error });
  }
  if ((code !== undefined && NETWORK_CODES.has(code)) || (status !== undefined && status >= 500)) {
    return new StorageUnavailableError(`S3 ${context.operation} on ${where} failed: the server is unreachable or failing (${detail}).`, {
      cause: error,
    });
  }
  // The connection broke while the answer arrived (reset after the status line): the SDK reports
  // a response it could not parse, with no status, which is no caller's error.
  if (status === undefined && isBrokenResponse(error)) {
    return new StorageUnavailableError(`S3 ${context.operation} on ${where} failed: the connection broke during the server's answer.`, {
      cause: error,
    });
  }
  // Not an answer from S3 (e.g. the body stream failed): the caller's own error, unchanged.
  if (status === undefined && error instanceof Error) return error;
  return new FileFieldError('E_S3', `S3 ${context.operation} on ${where} failed (${detail}).`, { cause: error });
}

/**
 * A GetObject body that failed while it was read: a server silent past readTimeout is a
 * StorageTimeoutError as for any request, a broken connection a StorageUnavailableError that
 * says to open the file again; anything else (the reader's own error, an abort) is left as it is.
 */
export function mapDownloadError(error: unknown, context: S3CallContext & { name: string }): unknown {
  if (error instanceof FileFieldError) return error;
  if (timeoutKind(error) !== undefined) return mapS3Error(error, context);
  const code = s3ErrorCode(error);
  if ((code !== undefined && NETWORK_CODES.has(code)) || (error instanceof Error && /\b(aborted|socket hang up)\b/.test(error.message))) {
    const reason = error instanceof Error ? error.message : String(error);
    return new StorageUnavailableError(`The download of '${context.name}' was interrupted (${reason}); open the file again to read it.`, { cause: error });
  }
  return error;
}

/** A failure of the connection (reset, refused, timed out) rather than an answer from S3. */
export function isNetworkFailure(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code !== undefined && NETWORK_CODES.has(code) && s3StatusCode(error) === undefined;
}

function isBrokenResponse(error: unknown): boolean {
  return error instanceof Error && '$metadata' in error && /\b(aborted|socket hang up)\b/.test(error.message);
}

/**
 * The SDK keeps the raw HTTP response on its errors (`$response`, a fixed hidden property), and
 * that response's body stream references the request that was sent, whose header text holds the
 * session token (X-Amz-Security-Token). The error is kept as `cause`, so the body (read and done
 * with by then) is dropped from the response: status and headers stay, no token travels into
 * logs and error reports.
 */
function withoutRawResponse(error: unknown): void {
  if (error === null || typeof error !== 'object' || !('$response' in error)) return;
  const raw = (error as { $response?: unknown }).$response;
  if (raw === null || typeof raw !== 'object' || !('body' in raw)) return;
  try {
    (raw as { body?: unknown }).body = undefined;
  } catch {
    // A frozen response keeps its body; nothing else to do.
  }
}
