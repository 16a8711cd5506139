/**
 * Sending one body to one key: a single PutObject when the size is known and small, otherwise a
 * multipart upload. Bodies of unknown size are peeked at up to one part: a short stream still
 * goes out as one PutObject.
 *
 * A file on disk of known size (a LocalFile) goes in parts read from the file by range, as
 * s3transfer does: each of the `queueSize` parts in flight reads its own range (fs reads at
 * offsets, straight into a part buffer: no stream, no copy) and then sends it, so reads run in
 * parallel with the uploads and an upload holds at most `queueSize` part buffers, reused.
 *
 * A multipart upload of a stream holds `queueSize + 1` part buffers, allocated once and reused:
 * `queueSize` parts in flight and one being filled from the stream meanwhile. (lib-storage's
 * Upload, used here before, concatenated every part into a new buffer and kept the previous one
 * alive through the remainder it sliced off it: up to `queueSize + 3` parts were live at once, and
 * each part sent left two parts of garbage behind; see bench/s3/memory.ts.) A Buffer body is sent
 * in slices of itself.
 *
 * A multipart upload that fails or is aborted stops at once (the parts in flight are cancelled,
 * not left to finish) and is aborted on the server; the first real failure is what the caller
 * sees, even when the server cannot abort (s3rver answers 405 to AbortMultipartUpload).
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { MAX_PART_SIZE } from './transfer';

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

export type UploadBody =
  | { kind: 'buffer'; buffer: Buffer }
  | { kind: 'stream'; stream: Readable; size: number | undefined }
  /** A file on disk of known size: small ones are streamed in one PutObject, large ones read by range. */
  | { kind: 'file'; path: string; size: number; stream: () => Readable };

/** What the caller must do before a multipart upload starts (claim the name, for exclusive writes). */
export type BeforeMultipart = () => Promise<void>;

/** S3 accepts at most this many parts in one upload. */
const MAX_PARTS = 10_000;

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
    await multipart(plan, { kind: 'buffer', buffer: body.buffer });
    return;
  }
  if (body.kind === 'file') {
    if (body.size <= plan.multipartThreshold) {
      await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.stream(), ContentLength: body.size }), { abortSignal });
      return;
    }
    await beforeMultipart();
    await multipart(plan, { kind: 'file', path: body.path, size: body.size });
    return;
  }
  if (body.size !== undefined && body.size <= plan.multipartThreshold) {
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: body.stream, ContentLength: body.size }), { abortSignal });
    return;
  }
  if (body.size !== undefined) {
    await beforeMultipart();
    await multipart(plan, { kind: 'stream', stream: body.stream, chunks: body.stream, size: body.size });
    return;
  }
  const head = await readHead(body.stream, Math.min(plan.multipartThreshold, plan.partSize));
  if (head.ended) {
    const buffer = Buffer.concat(head.chunks);
    await plan.client.send(new PutObjectCommand({ ...plan.params, ...single, Body: buffer, ContentLength: buffer.byteLength }), { abortSignal });
    return;
  }
  await beforeMultipart();
  await multipart(plan, { kind: 'stream', stream: body.stream, chunks: rejoin(head.chunks, head.rest), size: undefined });
}

/** A multipart body: a buffer, the chunks of `stream` (destroyed when the upload stops early), or a file read by range. */
type PartSource =
  | { kind: 'buffer'; buffer: Buffer }
  | { kind: 'stream'; stream: Readable; chunks: AsyncIterable<unknown>; size: number | undefined }
  | { kind: 'file'; path: string; size: number };

interface Part {
  number: number;
  /** Its byte count. */
  size: number;
  last: boolean;
  /** Its bytes: at hand for buffers and streams, read from the file (into a pooled buffer) for files. */
  data(): Promise<Buffer>;
  /** The part was sent: its buffer may be filled again. */
  release(): void;
}

async function multipart(plan: UploadPlan, source: PartSource): Promise<void> {
  // Every request is sent under one controller, which the first failure (or the caller's signal)
  // aborts: the other parts in flight are cancelled and the stream is no longer read.
  const stop = new AbortController();
  let firstFailure: unknown;
  const fail = (error: unknown) => {
    if (stop.signal.aborted) return;
    firstFailure = error;
    stop.abort(error);
  };
  const send = async <Output>(request: (options: { abortSignal: AbortSignal }) => Promise<Output>): Promise<Output> => {
    try {
      return await request({ abortSignal: stop.signal });
    } catch (error) {
      fail(error);
      throw error;
    }
  };
  const onCallerAbort = () => stop.abort(plan.signal?.reason);
  plan.signal?.addEventListener('abort', onCallerAbort, { once: true });
  // A part that failed must not wait for the next chunk of a slow stream to be noticed.
  const onStop = () => {
    if (source.kind === 'stream') source.stream.destroy();
  };
  stop.signal.addEventListener('abort', onStop, { once: true });
  const { Key } = plan.params;
  let uploadId: string | undefined;
  const inFlight = new Set<Promise<void>>();
  const completed: CompletedPart[] = [];
  let file: FileHandle | undefined;
  // For a known size, parts grow as s3transfer's do when 10,000 of them would not hold the body.
  const known = source.kind === 'buffer' ? source.buffer.byteLength : source.size;
  const partSize = known === undefined ? plan.partSize : fittingPartSize(plan.partSize, known);
  try {
    if (plan.signal?.aborted) throw plan.signal.reason;
    let sent = 0;
    let parts: Iterable<Part> | AsyncIterable<Part>;
    if (source.kind === 'buffer') parts = sliceParts(source.buffer, partSize);
    else if (source.kind === 'stream') parts = fillParts(source.chunks, partSize);
    else {
      file = await open(source.path, 'r');
      const { size } = await file.stat();
      if (size !== source.size) throw new Error(`The file uploaded to '${Key}' is ${size} bytes now, but was ${source.size} when the save started.`);
      parts = rangeParts(file, source.path, source.size, partSize);
    }
    for await (const part of parts) {
      if (stop.signal.aborted) break;
      sent += part.size;
      if (part.last && source.kind === 'stream' && source.size !== undefined && sent !== source.size) {
        throw new Error(`The upload body of '${Key}' ended after ${sent} bytes, but its size was given as ${source.size}.`);
      }
      if (part.number === 1 && part.last) {
        // The body fit in one part after all (a part size above multipartThreshold): one PutObject,
        // as lib-storage sends, without the single-request params (the name was claimed already).
        await send(async (options) => {
          const data = await part.data();
          return plan.client.send(new PutObjectCommand({ ...plan.params, Body: data, ContentLength: data.byteLength }), options);
        });
        return;
      }
      if (part.number > MAX_PARTS) {
        throw new Error(`The upload of '${Key}' needs more than ${MAX_PARTS} parts (S3's limit) of ${partSize} bytes: raise transfer.partSize.`);
      }
      if (uploadId === undefined) {
        const params = await createParams(plan);
        ({ UploadId: uploadId } = await send((options) => plan.client.send(new CreateMultipartUploadCommand(params), options)));
      }
      while (inFlight.size >= plan.queueSize && !stop.signal.aborted) await Promise.race(inFlight);
      if (stop.signal.aborted) break;
      const partParams = { ...plan.params, UploadId: uploadId, PartNumber: part.number };
      const sending: Promise<void> = send(async (options) => {
        const data = await part.data();
        if (options.abortSignal.aborted) throw options.abortSignal.reason;
        return plan.client.send(new UploadPartCommand({ ...partParams, Body: data, ContentLength: data.byteLength }), options);
      })
        .then(
          (result) => {
            if (!result.ETag) return fail(new Error(`Part ${part.number} of '${Key}' came back without an ETag (a CORS rule that hides it?).`));
            completed.push({ ...checksums(result), ETag: result.ETag, PartNumber: part.number });
            part.release();
          },
          // Recorded by `send`. The buffer is not reused: the cancelled request may still be reading it.
          () => undefined,
        )
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
    await Promise.all(inFlight);
    if (stop.signal.aborted) throw stop.signal.reason;
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const complete = new CompleteMultipartUploadCommand({ ...plan.params, UploadId: uploadId, MultipartUpload: { Parts: completed } });
    await send((options) => plan.client.send(complete, options));
  } catch (error) {
    stop.abort();
    // Settled, so that no part request holds a connection after the call returns.
    await Promise.all(inFlight);
    await abortOnServer(plan, uploadId);
    throw firstFailure ?? error;
  } finally {
    // Every part that read from it has settled (above, or before Complete).
    await file?.close().catch(() => undefined);
    plan.signal?.removeEventListener('abort', onCallerAbort);
    stop.signal.removeEventListener('abort', onStop);
  }
}

/**
 * As lib-storage does: when the SDK checksums every request that supports it (its AWS default),
 * the upload declares CRC32, and CompleteMultipartUpload repeats each part's checksum.
 */
async function createParams(plan: UploadPlan) {
  const params = { ...plan.params };
  if ((await plan.client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED') params.ChecksumAlgorithm ??= 'CRC32';
  return params;
}

/** The part checksums UploadPart returned, which CompleteMultipartUpload must repeat. */
function checksums(result: Omit<CompletedPart, 'PartNumber'>): Omit<CompletedPart, 'PartNumber' | 'ETag'> {
  const { ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = result;
  const present = Object.entries({ ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 }).filter(([, value]) => value);
  return Object.fromEntries(present);
}

/** The part size, doubled until `size` fits in 10,000 parts (s3transfer's ChunksizeAdjuster); at most 5 GiB. */
function fittingPartSize(partSize: number, size: number): number {
  let fitting = partSize;
  while (Math.ceil(size / fitting) > MAX_PARTS && fitting * 2 <= MAX_PART_SIZE) fitting *= 2;
  return fitting;
}

function* sliceParts(buffer: Buffer, partSize: number): Generator<Part> {
  for (let start = 0, number = 1; start === 0 || start < buffer.byteLength; start += partSize, number += 1) {
    const data = buffer.subarray(start, start + partSize);
    yield { number, size: data.byteLength, data: () => Promise.resolve(data), last: start + partSize >= buffer.byteLength, release: () => undefined };
  }
}

/**
 * The parts of a file of `size` bytes, each read from its own range when it is about to be sent
 * (so only the parts in flight hold a buffer). Buffers of sent parts are reused.
 */
function* rangeParts(file: FileHandle, path: string, size: number, partSize: number): Generator<Part> {
  const spare: Buffer[] = [];
  const count = Math.max(1, Math.ceil(size / partSize));
  for (let number = 1; number <= count; number += 1) {
    const start = (number - 1) * partSize;
    const length = Math.min(partSize, size - start);
    let buffer: Buffer | undefined;
    yield {
      number,
      size: length,
      last: number === count,
      data: async () => {
        buffer = spare.pop() ?? Buffer.allocUnsafeSlow(partSize);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await file.read(buffer, filled, length - filled, start + filled);
          if (bytesRead === 0) throw new Error(`The file '${path}' ended at ${start + filled} bytes while it was uploaded; it was ${size} bytes when the save started.`);
          filled += bytesRead;
        }
        return buffer.subarray(0, length);
      },
      release: () => {
        if (buffer) spare.push(buffer);
      },
    };
  }
}

/**
 * The stream's bytes copied into part-sized buffers. A full part is handed on once a further
 * byte arrived (so the last part is known as such); the caller releases each part it sent, and
 * its buffer is filled again. With the caller sending at most `queueSize` parts while the next
 * one fills, `queueSize + 1` buffers are ever allocated.
 */
async function* fillParts(chunks: AsyncIterable<unknown>, partSize: number): AsyncGenerator<Part> {
  const spare: Buffer[] = [];
  const take = () => spare.pop() ?? Buffer.allocUnsafeSlow(partSize);
  let buffer = take();
  let filled = 0;
  let number = 1;
  const part = (last: boolean): Part => {
    const sent = buffer;
    const data = sent.subarray(0, filled);
    return { number, size: filled, data: () => Promise.resolve(data), last, release: () => spare.push(sent) };
  };
  for await (const value of chunks) {
    let chunk = toBuffer(value);
    while (chunk.byteLength > 0) {
      if (filled === partSize) {
        yield part(false);
        buffer = take();
        filled = 0;
        number += 1;
      }
      const copied = chunk.copy(buffer, filled);
      filled += copied;
      chunk = chunk.subarray(copied);
    }
  }
  yield part(true);
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

function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`Upload bodies must yield bytes or strings, got ${typeof value}.`);
}
