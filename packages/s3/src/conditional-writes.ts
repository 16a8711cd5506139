/**
 * Exclusive writes need the server to honour `If-None-Match: *` on PutObject (AWS since 2024,
 * radosgw, MinIO). Some servers silently ignore it (s3rver), so support is either declared by the
 * `conditionalWrites` option or found by a probe: write a scratch key twice, the second time
 * conditionally; a 412 proves support. Without support, exclusive writes fall back to
 * HEAD-then-PUT serialised per key inside this process (see `KeyLocks`); that fallback cannot
 * stop another process writing the same key between the HEAD and the PUT.
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { randomSuffix } from '@filefield/core';
import { s3StatusCode } from './errors';

/** The user metadata key (`x-amz-meta-filefield-write`) holding an exclusive write's token. */
export const WRITE_TOKEN_METADATA = 'filefield-write';

/** The headers an upload sends besides its body (SSE, ACL, object parameters). */
export type UploadHeaders = Omit<PutObjectCommandInput, 'Bucket' | 'Key' | 'Body' | 'ContentLength' | 'ContentType'>;

/**
 * Probe whether `bucket` honours If-None-Match on PutObject; leaves no object behind. The probe
 * sends `headers` like a real upload, so a bucket policy that demands encryption accepts it.
 */
export async function probeConditionalWrites(client: S3Client, bucket: string, prefix: string, headers: UploadHeaders = {}): Promise<boolean> {
  const key = `${prefix ? `${prefix}/` : ''}.filefield-probe-${randomSuffix(16)}`;
  const put = { ...headers, Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 };
  await client.send(new PutObjectCommand(put));
  try {
    await client.send(new PutObjectCommand({ ...put, IfNoneMatch: '*' }));
    return false;
  } catch (error) {
    if (isPreconditionFailure(error)) return true;
    // A server that rejects the header outright (400/501) does not support it either.
    if (s3StatusCode(error) === 400 || s3StatusCode(error) === 501) return false;
    throw error;
  } finally {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
}

/** Whether the object at `key` was written by the exclusive write holding `token`. */
export async function isThisWrite(client: S3Client, bucket: string, key: string, token: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return head.Metadata?.[WRITE_TOKEN_METADATA] === token;
  } catch (error) {
    // Deleted meanwhile: then it was not ours to keep either; the caller reports the 412.
    if (s3StatusCode(error) === 404) return false;
    throw error;
  }
}

/**
 * 412 PreconditionFailed: the key exists. AWS may also answer 409 ConditionalRequestConflict
 * when a concurrent conditional write to the key is in flight; either way the name is taken.
 */
export function isPreconditionFailure(error: unknown): boolean {
  const status = s3StatusCode(error);
  return status === 412 || (status === 409 && (error as { name?: string }).name === 'ConditionalRequestConflict');
}

/**
 * Per-key mutual exclusion inside this process, for the HEAD-then-PUT fallback: concurrent
 * exclusive saves through any S3Storage of this process to the same bucket key run one after the other.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Shared by every storage of the process, keyed by endpoint + bucket + key. */
export const processKeyLocks = new KeyLocks();
