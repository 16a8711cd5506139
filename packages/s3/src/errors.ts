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
  StorageUnavailableError,
} from '@filefield/core';

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
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  errors?: unknown[];
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
  const code = s3ErrorCode(error);
  const status = s3StatusCode(error);
  const where = context.key === undefined ? `bucket '${context.bucket}'` : `'${context.key}' in bucket '${context.bucket}'`;
  // HEAD responses have no body, so the SDK knows no S3 code for them ('Unknown').
  const named = code !== undefined && code !== 'Unknown' ? code : undefined;
  const detail = [named, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean).join(', ') || 'unknown error';

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
  // Not an answer from S3 (e.g. the body stream failed): the caller's own error, unchanged.
  if (status === undefined && error instanceof Error) return error;
  return new FileFieldError('E_S3', `S3 ${context.operation} on ${where} failed (${detail}).`, { cause: error });
}
