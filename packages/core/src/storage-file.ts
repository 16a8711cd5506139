/**
 * The object `Storage.open()` returns: a sequential reader ('r') or writer ('w') over one
 * stored name, streaming in both directions. Reading opens one download on first use and
 * keeps it open across `read(n)` calls; writing starts one upload on first write and pipes
 * every `write()` into it with backpressure, so memory stays bounded for any size.
 *
 * An open download holds a connection (S3) or a file descriptor until it ends or is closed:
 * `close()` (or `await using`) releases it at once, and a reader dropped without either is
 * released when it is garbage-collected (see ByteReader). A download that breaks (the server
 * reset it, a read timeout destroyed it) fails every later read with StorageUnavailableError.
 * A writer dropped without close() has its upload abandoned when it is garbage-collected.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { ByteReader } from './byte-reader';
import { FileFieldError, FileModeError, OperationAbortedError, StorageUnavailableError } from './errors';

export type OpenMode = 'r' | 'rb' | 'w' | 'wb';

/** What a StorageFile needs from its storage (kept narrow so the file knows no driver). */
export interface StorageFileBackend {
  createReadStream(name: string): Promise<Readable>;
  /** Stream `body` to exactly `name`, replacing any existing file. */
  writeStream(name: string, body: Readable): Promise<void>;
  /** Cancels the file object's downloads and uploads. */
  signal?: AbortSignal;
}

export interface ChunksOptions {
  /**
   * true (the default): every chunk is exactly `chunkSize` bytes except the last (Django's
   * `chunks()`). false: chunks as the download delivers them, at most `chunkSize` bytes, without
   * a copy.
   */
  exact?: boolean;
}

/**
 * Upload bodies of writers dropped without close(). An upload is only finished by close(): a
 * writer the program forgot holds a half-sent upload (an open S3 multipart upload, billed until
 * something aborts it), so its body is destroyed, which fails the upload and makes the driver
 * abort it. Nothing is stored: a file the program never closed is not taken as complete. The
 * registry holds the body, never the file, or the file could not be collected.
 */
const unclosedWriters = new FinalizationRegistry<PassThrough>((body) => {
  if (!body.destroyed) body.destroy(new OperationAbortedError('A file opened for writing was garbage-collected without close(): its upload was abandoned.'));
});

export class StorageFile implements AsyncDisposable {
  readonly name: string;
  readonly mode: OpenMode;
  private reader: ByteReader | undefined;
  /** The download `read()` is starting, shared so concurrent first reads make one request. */
  private opening: Promise<ByteReader> | undefined;
  private upload: { body: PassThrough; done: Promise<void>; failure?: unknown } | undefined;
  private closed = false;

  constructor(
    private readonly backend: StorageFileBackend,
    name: string,
    mode: OpenMode = 'r',
  ) {
    if (!['r', 'rb', 'w', 'wb'].includes(mode)) {
      throw new FileModeError(`Unsupported mode '${mode}': use 'r' to read or 'w' to write.`);
    }
    this.name = name;
    this.mode = mode;
  }

  get readable(): boolean {
    return this.mode.startsWith('r');
  }

  /**
   * `size` bytes from the current position (the rest when omitted), fewer only at the end of
   * the file; empty at the end. Bytes within one network chunk come back as a view of it, not a
   * copy.
   */
  async read(size?: number): Promise<Buffer> {
    this.assertOpen('read');
    if (!this.readable) throw new FileModeError(`File '${this.name}' is open for writing, not reading.`);
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`read(size) needs a non-negative integer, got ${size}.`);
    }
    const reader = this.reader ?? (await this.openReader());
    if (this.backend.signal?.aborted) await this.stopAborted(reader);
    return this.reading('read', reader.read(size));
  }

  /**
   * The whole file in chunks, from the start, in a fresh download. By default every chunk is
   * exactly `chunkSize` bytes except the last, as Django's `File.chunks()`: a piece of a network
   * chunk is a view of it, and bytes are copied only to fill a chunk from several network chunks.
   * With `{ exact: false }` chunks are handed on as the download delivers them, never copied and
   * never empty, each at most `chunkSize` bytes (a longer one is cut into views). Either way a
   * chunk handed out is never written to again, so it may be kept after the loop goes on.
   */
  async *chunks(chunkSize = 64 * 1024, options: ChunksOptions = {}): AsyncGenerator<Buffer> {
    this.assertOpen('chunks');
    if (!this.readable) throw new FileModeError(`File '${this.name}' is open for writing, not reading.`);
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new RangeError(`chunks(chunkSize) needs a positive integer, got ${chunkSize}.`);
    }
    const exact = options.exact ?? true;
    const { signal } = this.backend;
    // Breaking out of a for-await loop runs the finally below, which releases the download.
    const reader = await this.download();
    try {
      for (;;) {
        if (signal?.aborted) await this.stopAborted(reader);
        // Errors are mapped here rather than through reading(): one promise less per chunk, which
        // shows when every network chunk is handed on.
        let chunk: Buffer | undefined;
        try {
          chunk = exact ? await reader.read(chunkSize) : await reader.next(chunkSize);
        } catch (error) {
          throw this.readFailure('read', error);
        }
        if (chunk === undefined || chunk.byteLength === 0) return;
        yield chunk;
      }
    } finally {
      await reader.close();
    }
  }

  async write(data: string | Uint8Array): Promise<void> {
    this.assertOpen('write');
    if (this.readable) throw new FileModeError(`File '${this.name}' is open for reading, not writing.`);
    const upload = this.startUpload();
    if (upload.failure !== undefined) throw upload.failure;
    if (!upload.body.write(typeof data === 'string' ? Buffer.from(data) : data)) {
      // Wait for the uploader to drain, or for it to fail (then 'drain' never comes).
      await Promise.race([once(upload.body, 'drain'), upload.done]);
    }
  }

  /**
   * Finish the upload (creating an empty file if nothing was written) or stop the download,
   * releasing its connection or file descriptor before it resolves.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.readable) {
      // A download still being opened is stopped by openReader() when it arrives.
      const reader = this.reader;
      this.reader = undefined;
      await reader?.close();
      return;
    }
    const upload = this.startUpload();
    unclosedWriters.unregister(this);
    upload.body.end();
    await upload.done;
  }

  /**
   * `await using file = storage.open(name)`: close() when the block ends, however it ends. For a
   * writer that finishes the upload, as close() does.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private openReader(): Promise<ByteReader> {
    this.opening ??= this.download().then(
      (reader) => {
        if (this.closed) {
          void reader.close();
          throw this.closedError('read');
        }
        this.reader = reader;
        return reader;
      },
      (error: unknown) => {
        // Nothing was opened (a missing file, say): the next read() tries again.
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private async download(): Promise<ByteReader> {
    return new ByteReader(await this.backend.createReadStream(this.name));
  }

  private startUpload() {
    if (!this.upload) {
      const body = new PassThrough();
      const upload: { body: PassThrough; done: Promise<void>; failure?: unknown } = { body, done: Promise.resolve() };
      upload.done = this.backend.writeStream(this.name, body).catch((error: unknown) => {
        upload.failure = error;
        body.destroy();
        throw error;
      });
      // The failure is reported by write()/close(); avoid an unhandled rejection meanwhile.
      upload.done.catch(() => undefined);
      this.upload = upload;
      unclosedWriters.register(this, body, this);
    }
    return this.upload;
  }

  /**
   * A read of the download, its failure said in filefield's terms: once the file's signal fired,
   * the destroyed stream's error reads as aborted; a stream that broke on its own (a reset
   * connection, a read timeout, a destroyed body) as StorageUnavailableError, never as the end
   * of the file; a read close() cut short as FileModeError.
   */
  private async reading<T>(operation: string, pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (error) {
      throw this.readFailure(operation, error);
    }
  }

  private readFailure(operation: string, error: unknown): unknown {
    const { signal } = this.backend;
    if (signal?.aborted && !(error instanceof OperationAbortedError)) {
      return new OperationAbortedError(`${operation} '${this.name}' was aborted.`, { cause: signal.reason });
    }
    if (error instanceof FileFieldError) return error;
    if (this.closed) return new FileModeError(`Cannot ${operation} '${this.name}': the file was closed during the read.`);
    const reason = error instanceof Error ? error.message : String(error);
    return new StorageUnavailableError(`The download of '${this.name}' was interrupted (${reason}); open the file again to read it.`, { cause: error });
  }

  /**
   * A signal that fired between reads stops the download here: drivers whose streams do not
   * listen to the signal (files, memory) would otherwise go on reading. Only called once it
   * fired: an await on every read would let close() slip in between the check and the read.
   */
  private async stopAborted(reader: ByteReader): Promise<never> {
    await reader.close();
    throw new OperationAbortedError(`read '${this.name}' was aborted.`, { cause: this.backend.signal?.reason });
  }

  private closedError(operation: string): FileModeError {
    return new FileModeError(`Cannot ${operation} '${this.name}': the file is closed.`);
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw this.closedError(operation);
  }
}
