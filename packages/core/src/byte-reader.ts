/**
 * Reads exact byte counts from a stream of chunks, keeping only the unread remainder of the
 * current chunk: `read(3)` then `read()` on a streamed body without buffering the whole body
 * (except when the caller asks for all of it).
 *
 * Bytes are copied only where an answer spans chunks: a read that one chunk can answer gets a
 * `subarray` view of it, and `next()` hands chunks on as they arrive. That relies on what Node's
 * streams (sockets, files, gunzip) do: a chunk they pushed is never written again, so a view of
 * it stays valid for as long as the caller holds it. A stream that pushes a buffer it keeps and
 * changes would show the change through every view; the reader makes no copy to hide that.
 *
 * A reader owns its stream. An unfinished download holds a resource the process has few of (an
 * S3 body holds its keep-alive socket until the body ends, and a pool has about 50), so
 * `close()` destroys the stream at once, even while a read waits on it, and a reader that is
 * garbage-collected without `close()` has its stream destroyed by a finalizer.
 */
import { finished } from 'node:stream';

/** A stream the reader can stop: a Node Readable (an HTTP body, a file stream, a gunzip). */
interface DestroyableStream extends AsyncIterable<Uint8Array | string> {
  destroy(error?: Error): unknown;
  readonly destroyed: boolean;
}

/**
 * Streams of readers that were dropped without close(). The registry holds the stream and never
 * the reader, or the reader could not be collected: nothing but the stream may point back at the
 * stream's owner. An HTTP body stays reachable from its socket in the agent's pool, so only this
 * ends a forgotten download before the server gives up on it.
 */
const abandoned = new FinalizationRegistry<DestroyableStream>((stream) => {
  if (!stream.destroyed) stream.destroy();
});

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array | string>;
  private readonly stream: DestroyableStream | undefined;
  private pending: Buffer = EMPTY;
  private done = false;
  /**
   * Why the stream failed, or that it was closed: every later read fails the same way instead of
   * looking like the end of the file.
   */
  private failure: { error: unknown } | undefined;

  constructor(source: AsyncIterable<Uint8Array | string>) {
    this.iterator = source[Symbol.asyncIterator]();
    if (isDestroyable(source)) {
      this.stream = source;
      abandoned.register(this, source, this);
    }
  }

  /**
   * `size` bytes (all remaining when omitted), fewer only at the end of the stream; an empty
   * Buffer at the end. A piece of the current chunk is returned as a view of it; only bytes from
   * more than one chunk are copied, into a new Buffer of their exact length.
   */
  async read(size?: number): Promise<Buffer> {
    if (this.failure) throw this.failure.error;
    if (size !== undefined && this.pending.byteLength >= size) return this.take(size);
    const parts: Buffer[] = [];
    let have = 0;
    while (size === undefined || have < size) {
      if (this.pending.byteLength === 0 && !(await this.fill())) break;
      const part = size === undefined ? this.take(this.pending.byteLength) : this.take(size - have);
      parts.push(part);
      have += part.byteLength;
    }
    if (parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
  }

  /**
   * The rest of the current chunk, or the next chunk, as it arrived: never copied, never empty,
   * at most `max` bytes (a longer chunk is handed out in views of `max` bytes). Undefined at the
   * end of the stream.
   */
  async next(max = Infinity): Promise<Buffer | undefined> {
    if (this.failure) throw this.failure.error;
    if (this.pending.byteLength === 0 && !(await this.fill())) return undefined;
    return this.take(max);
  }

  /**
   * Stop the stream now and wait until it has let go of what it held (a socket, a file
   * descriptor). A read still waiting on the stream rejects. Destroying the stream directly,
   * rather than through the iterator's `return()`, matters: `return()` queues behind a pending
   * `next()`, so closing a stalled download that way would wait as long as the stall.
   */
  async close(): Promise<void> {
    this.pending = EMPTY;
    const wasDone = this.done;
    this.done = true;
    this.failure ??= { error: new Error('The download was closed.') };
    if (this.stream) {
      abandoned.unregister(this);
      await destroyAndSettle(this.stream);
    } else if (!wasDone) {
      await this.iterator.return?.();
    }
  }

  private async fill(): Promise<boolean> {
    while (!this.done) {
      let next: IteratorResult<Uint8Array | string>;
      try {
        next = await this.iterator.next();
      } catch (error) {
        this.done = true;
        this.failure ??= { error };
        throw this.failure.error;
      }
      // Closed while this read waited: what arrived belongs to nobody.
      if (this.failure) throw this.failure.error;
      if (next.done) {
        this.done = true;
        return false;
      }
      const chunk = asBuffer(next.value);
      if (chunk.byteLength > 0) {
        this.pending = chunk;
        return true;
      }
    }
    if (this.failure) throw this.failure.error;
    return false;
  }

  /** Up to `size` bytes off the front of the current chunk, as a view (the whole chunk when it fits). */
  private take(size: number): Buffer {
    const pending = this.pending;
    if (pending.byteLength <= size) {
      this.pending = EMPTY;
      return pending;
    }
    this.pending = pending.subarray(size);
    return pending.subarray(0, size);
  }
}

const EMPTY = Buffer.alloc(0);

/** A Buffer over the same memory (a Uint8Array from a web stream, say), or the string's bytes. */
function asBuffer(value: Uint8Array | string): Buffer {
  if (typeof value === 'string') return Buffer.from(value);
  if (Buffer.isBuffer(value)) return value;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function isDestroyable(source: AsyncIterable<Uint8Array | string>): source is DestroyableStream {
  const candidate = source as Partial<DestroyableStream> & { on?: unknown };
  return typeof candidate.destroy === 'function' && typeof candidate.on === 'function';
}

/** Destroy `stream` and resolve once it has closed (an HTTP body: after its socket closed). */
function destroyAndSettle(stream: DestroyableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.destroy();
    try {
      finished(stream as unknown as NodeJS.ReadableStream, () => resolve());
    } catch {
      // Not a stream `finished` knows; it was destroyed, which is all we can do.
      resolve();
    }
  });
}
