/**
 * Sending one body to one key: a single PutObject when the size is known and small, otherwise a
 * multipart upload (lib-storage) that holds at most `queueSize` parts in memory. Bodies of
 * unknown size are peeked at up to one part: a short stream still goes out as one PutObject.
 */
import { PutObjectCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';

export interface UploadPlan {
  client: S3Client;
  params: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>;
  /** Largest known size sent in one PutObject. */
  multipartThreshold: number;
  partSize: number;
  queueSize: number;
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
  if (body.kind === 'buffer') {
    if (body.buffer.byteLength <= plan.multipartThreshold) {
      await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.buffer, ContentLength: body.buffer.byteLength }));
      return;
    }
    await beforeMultipart();
    await multipart(plan, body.buffer);
    return;
  }
  if (body.size !== undefined && body.size <= plan.multipartThreshold) {
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.stream, ContentLength: body.size }));
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
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: buffer, ContentLength: buffer.byteLength }));
    return;
  }
  await beforeMultipart();
  // highWaterMark 1: read ahead one chunk at most (objectMode streams default to 16 chunks).
  await multipart(plan, Readable.from(rejoin(head.chunks, head.rest), { highWaterMark: 1 }));
}

async function multipart(plan: UploadPlan, body: Buffer | Readable): Promise<void> {
  const upload = new Upload({
    client: plan.client,
    params: { ...plan.params, Body: body },
    partSize: plan.partSize,
    queueSize: plan.queueSize,
    leavePartsOnError: false,
  });
  await upload.done();
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
