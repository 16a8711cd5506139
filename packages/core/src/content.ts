/**
 * What can be saved, and how a storage reads it. Every kind of content becomes a
 * `ContentSource`: a factory of Readable streams plus whatever is known up front (size).
 * Nothing here reads a whole body into memory except the in-memory kinds themselves.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { brand } from './brand';
import { FileFieldError } from './errors';

/** In-memory content with an optional name, like Django's `ContentFile`. */
export class ContentFile {
  readonly data: Buffer;
  readonly name: string | undefined;

  constructor(data: string | Uint8Array, name?: string) {
    this.data = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.name = name;
  }

  get size(): number {
    return this.data.byteLength;
  }
}

/** A file on the local disk, streamed when saved (never read whole). */
export class LocalFile {
  constructor(
    readonly path: string,
    readonly name?: string,
  ) {}
}

// `instanceof` also accepts the ContentFile/LocalFile of another loaded copy of the core (brand.ts).
brand(ContentFile, 'ContentFile');
brand(LocalFile, 'LocalFile');

export type Content =
  | string
  | Uint8Array
  | ContentFile
  | LocalFile
  | Readable
  | AsyncIterable<Uint8Array | string>;

/**
 * A body a driver can upload. `replayable` sources may be streamed again (a retry after a
 * name collision); one-shot sources (a Readable, an async iterable) throw if opened twice.
 */
export interface ContentSource {
  readonly size: number | undefined;
  readonly replayable: boolean;
  /** Present for in-memory content: lets a driver send it in one request without streaming. */
  readonly buffer: Buffer | undefined;
  /** Present for a file on local disk (a LocalFile): lets a driver read it by range, in parallel parts. */
  readonly path?: string;
  stream(): Readable;
}

class BufferSource implements ContentSource {
  readonly replayable = true;
  constructor(readonly buffer: Buffer) {}
  get size(): number {
    return this.buffer.byteLength;
  }
  stream(): Readable {
    return Readable.from([this.buffer], { objectMode: false });
  }
}

class LocalFileSource implements ContentSource {
  readonly replayable = true;
  readonly buffer = undefined;
  constructor(
    readonly path: string,
    readonly size: number,
  ) {}
  stream(): Readable {
    return createReadStream(this.path);
  }
}

class OneShotSource implements ContentSource {
  readonly replayable = false;
  readonly size = undefined;
  readonly buffer = undefined;
  private used = false;
  constructor(private readonly source: Readable | AsyncIterable<Uint8Array | string>) {}
  stream(): Readable {
    if (this.used) {
      throw new FileFieldError('E_CONTENT_CONSUMED', 'This content is a one-shot stream and was already read once.');
    }
    this.used = true;
    return this.source instanceof Readable ? this.source : Readable.from(toBuffers(this.source));
  }
}

async function* toBuffers(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array | string> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** Turn any accepted content into a source; local files are stat'ed for their size. */
export async function toContentSource(content: Content): Promise<ContentSource> {
  if (typeof content === 'string') return new BufferSource(Buffer.from(content, 'utf8'));
  if (content instanceof ContentFile) return new BufferSource(content.data);
  if (content instanceof LocalFile) return new LocalFileSource(content.path, (await stat(content.path)).size);
  if (content instanceof Uint8Array) return new BufferSource(Buffer.from(content.buffer, content.byteOffset, content.byteLength));
  if (content instanceof Readable || isAsyncIterable(content)) return new OneShotSource(content);
  throw new FileFieldError(
    'E_INVALID_CONTENT',
    'Content must be a string, Buffer/Uint8Array, ContentFile, LocalFile, Readable or async iterable.',
  );
}

/** The name a content carries (ContentFile/LocalFile), used when `save` is given no name. */
export function contentName(content: Content): string | undefined {
  if (content instanceof ContentFile) return content.name;
  if (content instanceof LocalFile) return content.name ?? content.path.split(/[\\/]/).pop();
  return undefined;
}

/** The byte size of in-memory content, known without I/O; undefined for files and streams. */
export function knownSize(content: Content): number | undefined {
  if (typeof content === 'string') return Buffer.byteLength(content);
  if (content instanceof ContentFile) return content.size;
  if (content instanceof Uint8Array) return content.byteLength;
  return undefined;
}
