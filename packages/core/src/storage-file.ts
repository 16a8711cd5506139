/**
 * The object `Storage.open()` returns: a sequential reader ('r') or writer ('w') over one
 * stored name, streaming in both directions. Reading opens one download on first use and
 * keeps it open across `read(n)` calls; writing starts one upload on first write and pipes
 * every `write()` into it with backpressure, so memory stays bounded for any size.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { ByteReader } from './byte-reader';
import { FileModeError } from './errors';

export type OpenMode = 'r' | 'rb' | 'w' | 'wb';

/** What a StorageFile needs from its storage (kept narrow so the file knows no driver). */
export interface StorageFileBackend {
  createReadStream(name: string): Promise<Readable>;
  /** Stream `body` to exactly `name`, replacing any existing file. */
  writeStream(name: string, body: Readable): Promise<void>;
}

export class StorageFile {
  readonly name: string;
  readonly mode: OpenMode;
  private reader: ByteReader | undefined;
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

  /** Up to `size` bytes from the current position (the rest when omitted); empty at the end. */
  async read(size?: number): Promise<Buffer> {
    this.assertOpen('read');
    if (!this.readable) throw new FileModeError(`File '${this.name}' is open for writing, not reading.`);
    if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
      throw new RangeError(`read(size) needs a non-negative integer, got ${size}.`);
    }
    this.reader ??= new ByteReader(await this.backend.createReadStream(this.name));
    return this.reader.read(size);
  }

  /** The whole file in chunks of `chunkSize` bytes, from the start, in a fresh download. */
  async *chunks(chunkSize = 64 * 1024): AsyncGenerator<Buffer> {
    this.assertOpen('chunks');
    if (!this.readable) throw new FileModeError(`File '${this.name}' is open for writing, not reading.`);
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) {
      throw new RangeError(`chunks(chunkSize) needs a positive integer, got ${chunkSize}.`);
    }
    const reader = new ByteReader(await this.backend.createReadStream(this.name));
    try {
      for (;;) {
        const chunk = await reader.read(chunkSize);
        if (chunk.byteLength === 0) return;
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

  /** Finish the upload (creating an empty file if nothing was written) or stop the download. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.readable) {
      await this.reader?.close();
      this.reader = undefined;
      return;
    }
    const upload = this.startUpload();
    upload.body.end();
    await upload.done;
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
    }
    return this.upload;
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new FileModeError(`Cannot ${operation} '${this.name}': the file is closed.`);
  }
}
