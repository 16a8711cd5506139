/**
 * Exclusive writes need the server to honour `If-None-Match: *` on PutObject (AWS since 2024,
 * radosgw, MinIO). Some servers silently ignore it (s3rver), so support is either declared by the
 * `conditionalWrites` option or found by a probe: write a scratch key twice, the second time
 * conditionally; a 412 proves support. Without support, exclusive writes fall back to
 * HEAD-then-PUT serialised per key inside this process (see `KeyLocks`); that fallback cannot
 * stop another process writing the same key between the HEAD and the PUT.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomSuffix } from '@filefield/core';
import { s3StatusCode } from './errors';

/** Probe whether `bucket` honours If-None-Match on PutObject; leaves no object behind. */
export async function probeConditionalWrites(client: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const key = `${prefix ? `${prefix}/` : ''}.filefield-probe-${randomSuffix(16)}`;
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 }));
  try {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, IfNoneMatch: '*' }));
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
