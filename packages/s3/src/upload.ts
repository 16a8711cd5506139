/**
 * Sending one body to one key: a single PutObject when the size is known and small, otherwise a
 * multipart upload (lib-storage) that holds at most `queueSize` parts in memory. Bodies of
 * unknown size are peeked at up to one part: a short stream still goes out as one PutObject.
 *
 * A multipart upload that fails or is aborted stops at once (the parts in flight are cancelled,
 * not left to finish) and is aborted on the server; the first real failure is what the caller
 * sees, even when the server cannot abort (s3rver answers 405 to AbortMultipartUpload).
 */
import { AbortMultipartUploadCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';

export interface UploadPlan {
  client: S3Client;
  params: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>;
  /** Largest known size sent in one PutObject. */
  multipartThreshold: number;
  partSize: number;
  queueSize: number;
  /** The caller's signal: every request of the upload is sent under it. */
  signal?: AbortSignal;
}

export type UploadBody = { kind: 'buffer'; buffer: Buffer } | { kind: 'stream'; stream: Readable; size: number | undefined };

/** What the caller must do before a multipart upload starts (claim the name, for exclusive writes). */
export type BeforeMultipart = () => Promise<void>;

/**
 * Upload `body`. `single` params apply to a one-request upload only (e.g. `IfNoneMatch`, which
 * some servers ignore on CompleteMultipartUpload); `beforeMultipart` runs before a multipart one.
 */
export async function uploadBody(
  plan: UploadPlan,
  body: UploadBody,
  single: Partial<PutObjectCommandInput>,
  beforeMultipart: BeforeMultipart,
): Promise<void> {
  const abortSignal = plan.signal;
  if (body.kind === 'buffer') {
    if (body.buffer.byteLength <= plan.multipartThreshold) {
      await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.buffer, ContentLength: body.buffer.byteLength }), { abortSignal });
      return;
    }
    await beforeMultipart();
    await multipart(plan, body.buffer);
    return;
  }
  if (body.size !== undefined && body.size <= plan.multipartThreshold) {
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.stream, ContentLength: body.size }), { abortSignal });
    return;
  }
  if (body.size !== undefined) {
    await beforeMultipart();
    await multipart(plan, body.stream);
    return;
  }
  const head = await readHead(body.stream, Math.min(plan.multipartThreshold, plan.partSize));
  if (head.ended) {
    const buffer = Buffer.concat(head.chunks);
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: buffer, ContentLength: buffer.byteLength }), { abortSignal });
    return;
  }
  await beforeMultipart();
  // highWaterMark 1: read ahead one chunk at most (objectMode streams default to 16 chunks).
  await multipart(plan, Readable.from(rejoin(head.chunks, head.rest), { highWaterMark: 1 }));
}

async function multipart(plan: UploadPlan, body: Buffer | Readable): Promise<void> {
  // lib-storage sends its part requests without a signal and, after one part fails, lets the
  // other workers go on reading and uploading the rest of the body. Every request therefore goes
  // through a client view that sends it under one controller, which the first failure (or the
  // caller's signal) aborts; lib-storage's own abort is off so that its failure cannot hide ours.
  const stop = new AbortController();
  let firstFailure: unknown;
  const onCallerAbort = () => stop.abort(plan.signal?.reason);
  plan.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const client = {
    config: plan.client.config,
    send: async (command: never, options?: Record<string, unknown>) => {
      try {
        return await plan.client.send(command, { ...options, abortSignal: stop.signal });
      } catch (error) {
        if (!stop.signal.aborted) {
          firstFailure = error;
          stop.abort(error);
        }
        throw error;
      }
    },
  } as unknown as S3Client;
  const upload = new Upload({
    client,
    params: { ...plan.params, Body: body },
    partSize: plan.partSize,
    queueSize: plan.queueSize,
    leavePartsOnError: true,
    abortController: stop,
  });
  try {
    if (plan.signal?.aborted) throw plan.signal.reason;
    await upload.done();
  } catch (error) {
    stop.abort();
    if (body instanceof Readable) body.destroy();
    await abortOnServer(plan, upload.uploadId);
    throw firstFailure ?? error;
  } finally {
    plan.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** How long cleaning up a failed multipart upload may take before its parts are left to the bucket's lifecycle rules. */
const ABORT_TIMEOUT_MS = 30_000;

async function abortOnServer(plan: UploadPlan, uploadId: string | undefined): Promise<void> {
  if (uploadId === undefined) return;
  // Not under the caller's signal: it has fired, and the parts must still go.
  await plan.client
    .send(new AbortMultipartUploadCommand({ Bucket: plan.params.Bucket, Key: plan.params.Key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(ABORT_TIMEOUT_MS),
    })
    .catch(() => undefined);
}

interface Head {
  chunks: Buffer[];
  ended: boolean;
  rest: AsyncIterator<unknown>;
}

/** Read until more than `limit` bytes arrived or the stream ended; the rest stays unread. */
async function readHead(stream: Readable, limit: number): Promise<Head> {
  const rest = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let bytes = 0;
  while (bytes <= limit) {
    const next = await rest.next();
    if (next.done) return { chunks, ended: true, rest };
    const chunk = toBuffer(next.value);
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  return { chunks, ended: false, rest };
}

async function* rejoin(head: Buffer[], rest: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  yield* head;
  head.length = 0;
  for (;;) {
    const next = await rest.next();
    if (next.done) return;
    yield toBuffer(next.value);
  }
}

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`Upload bodies must yield bytes or strings, got ${typeof value}.`);
}
