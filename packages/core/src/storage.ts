/**
 * The storage contract. `Storage` holds the shared logic (name validation, unique names,
 * content normalisation, file objects); a driver implements the protected primitives, which
 * always receive names that were already validated.
 *
 * Rules every driver follows (the conformance suite in `@filefield/core/testing` checks them):
 * - a missing file is a `FileNotFoundError` (never the native error), except `delete`,
 *   which succeeds when there is nothing to delete;
 * - `writeObject(..., { exclusive: true })` never replaces an existing file: it throws
 *   `FileExistsError` and the existing file is unchanged;
 * - bodies are streamed; nothing holds a whole file in memory (except MemoryStorage itself);
 * - `listObjects` of a directory that does not exist gives empty lists;
 * - an operation given an AbortSignal that fires stops, undoes what it started (a partial
 *   upload) and rejects with `OperationAbortedError` (`abortable` below maps the rejection);
 * - `readObjectRange`, where a driver has it, gives exactly the bytes asked for (fewer only at
 *   the end of the file), without reading the rest; other drivers get the base class's fallback.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { brand } from './brand';
import { type Content, type ContentSource, toContentSource } from './content';
import { ConfigurationError, FileExistsError, FileNameTooLongError, OperationAbortedError, SuspiciousFileOperation } from './errors';
import { alternativeName, firstCandidate, getValidFileName, joinName, splitName, validateFileName } from './names';
import { type OpenMode, StorageFile } from './storage-file';
import type { UploadTarget, UploadTargetOptions } from './upload-target';

/** Bytes `start` to `end` of a file, both inclusive (HTTP's Range); `end` omitted: to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ReadOptions extends CallOptions {
  /** Only these bytes (a `Range` request, the head of a file to sniff). */
  range?: ByteRange;
}

export interface StorageOptions {
  /** Replace a file saved under a taken name (true) or pick a unique name (false, the default). */
  fileOverwrite?: boolean;
  /**
   * The storage's identity in filefield's ledger and reference checks: two storage objects with
   * the same id are the same files. Default: derived from the configuration (the filesystem
   * location; S3 endpoint, bucket and location); a MemoryStorage is its own store.
   */
  id?: string;
}

/**
 * Reserves names before an upload, so that no two writers (in any process) store under the same
 * name and a crash after the upload leaves a record to clean up. ORM adapters pass their ledger's.
 */
export interface NameClaim {
  /** Reserve `name` before any byte is written; false when it is taken. */
  claim(name: string): Promise<boolean>;
  /** Give back a name reserved by `claim` whose upload did not happen. */
  release(name: string): Promise<void>;
}

/** Options every storage call takes. */
export interface CallOptions {
  /** Cancels the call: it rejects with OperationAbortedError and leaves nothing half-done. */
  signal?: AbortSignal;
}

export interface SaveOptions extends CallOptions {
  /** The longest name the caller can store (a column's length); names are shortened to fit. */
  maxLength?: number;
  /**
   * Reserve each candidate name with this claim first. A claimed save always takes a free name
   * (exclusive writes), whatever `fileOverwrite` says: a file another row names is never replaced.
   */
  claim?: NameClaim;
}

/** What `deleteMany` did: every name is in exactly one of the two lists. */
export interface DeleteManyResult {
  deleted: string[];
  failed: Array<{ name: string; error: unknown }>;
}

/** Limits a driver puts on names, checked before any request. */
export interface NameLimits {
  /** The longest name in bytes of UTF-8 (S3 keys: 1024, minus the location prefix). */
  maxBytes?: number;
  /** The longest path segment in bytes (filesystems: 255). */
  maxSegmentBytes?: number;
}

/** Deletions `deleteMany` runs at once with the one-by-one fallback. */
const DELETE_CONCURRENCY = 8;

export interface WriteOptions extends CallOptions {
  /** Fail with FileExistsError instead of replacing an existing file. */
  exclusive: boolean;
}

export interface DirectoryListing {
  directories: string[];
  files: string[];
}

/** How many taken names `save` tries before giving up (each try draws 7 random characters). */
const MAX_NAME_ATTEMPTS = 100;

export abstract class Storage {
  readonly fileOverwrite: boolean;
  private readonly explicitId: string | undefined;
  private instanceId: string | undefined;

  protected constructor(options: StorageOptions = {}) {
    this.fileOverwrite = options.fileOverwrite ?? false;
    if (options.id !== undefined && (typeof options.id !== 'string' || options.id === '' || options.id.length > 255)) {
      throw new ConfigurationError('A storage `id` must be a non-empty string of at most 255 characters.');
    }
    this.explicitId = options.id;
  }

  /**
   * Which files this storage holds, as the ledger and reference checks know it: the `id` option,
   * else the driver's description of its configuration, else one id per storage object.
   */
  get id(): string {
    return this.explicitId ?? this.identity() ?? (this.instanceId ??= `instance:${randomUUID()}`);
  }

  /**
   * Store `content` under `name`, or under a unique variant of it when the name is taken and
   * `fileOverwrite` is off. Returns the name actually stored.
   *
   * Unique names are race-free: each candidate is written exclusively and a collision moves on
   * to the next candidate, so two concurrent saves never replace each other. A one-shot stream
   * cannot be sent twice, so for it a free name is looked up first (one `exists` per
   * candidate); if another writer takes that name during the upload, `FileExistsError` is thrown.
   */
  async save(name: string, content: Content, options: SaveOptions = {}): Promise<string> {
    this.checkName(name);
    const { maxLength, claim, signal } = options;
    throwIfAborted(signal, 'save', name);
    const source = await toContentSource(content);
    let stored: string;
    if (this.fileOverwrite && !claim) {
      stored = this.checkName(truncateToFit(name, maxLength));
      await abortable(signal, 'save', stored, () => this.writeObject(stored, source, { exclusive: false, signal }));
    } else if (!source.replayable) {
      stored = claim ? await this.claimAvailableName(name, maxLength, claim) : await this.getAvailableName(name, maxLength);
      try {
        await abortable(signal, 'save', stored, () => this.writeExclusively(stored, source, name, signal));
      } catch (error) {
        // Taken by another writer: not ours to clean up. Any other failure may have left bytes
        // behind, so the claim stays and expires into the sweeper's hands.
        if (error instanceof FileExistsError) await claim?.release(stored);
        throw error;
      }
    } else {
      stored = await this.saveUnderFreeName(name, source, maxLength, claim, signal);
    }
    // A driver (or a subclass overriding getAvailableName) must not hand back an unsafe name.
    return this.checkName(stored);
  }

  /**
   * A file object for sequential reading ('r') or writing ('w', replaces the file). A `signal`
   * cancels every download or upload the file object makes.
   */
  open(name: string, mode: OpenMode = 'r', options: CallOptions = {}): StorageFile {
    this.checkName(name);
    const { signal } = options;
    return new StorageFile(
      {
        createReadStream: (fileName) => abortable(signal, 'read', fileName, () => this.readObject(fileName, { signal })),
        writeStream: (fileName, body) => abortable(signal, 'save', fileName, () => this.writeObjectFromStream(fileName, body, signal)),
        signal,
      },
      name,
      mode,
    );
  }

  /**
   * A stream of the file, or of `range` of it; `FileNotFoundError` when it does not exist. A
   * range past the end gives what there is (nothing when `start` is past it).
   */
  async createReadStream(name: string, options: ReadOptions = {}): Promise<Readable> {
    this.checkName(name);
    const { signal, range } = options;
    if (range === undefined) return abortable(signal, 'read', name, () => this.readObject(name, { signal }));
    checkRange(range);
    return abortable(signal, 'read', name, async () => {
      const native = await this.readObjectRange?.(name, range, { signal });
      return native ?? sliceStream(await this.readObject(name, { signal }), range);
    });
  }

  /**
   * Optional capability: where and how a client uploads to `name` itself, with no byte through
   * the application (S3: a presigned POST). Rules for a driver that has it:
   * - the storage itself refuses a body outside `minSize`..`maxSize` and, with `contentType`, a
   *   body declared with another type; the target is for `name` alone and expires after `expiresIn`;
   * - it writes and reserves nothing (claim the name first, see `getAvailableName`), so an
   *   upload that never comes leaves nothing;
   * - the target may be used more than once until it expires (each upload replaces the last),
   *   so whoever hands it out checks what arrived before trusting it.
   * Callers check `typeof storage.createUploadTarget === 'function'`.
   */
  createUploadTarget?(name: string, options: UploadTargetOptions): Promise<UploadTarget>;

  async exists(name: string): Promise<boolean> {
    return this.objectExists(this.checkName(name));
  }

  /**
   * Copy the file `source` to `destination`, a new file written with this storage's settings;
   * `FileNotFoundError` when `source` does not exist. Pass a free name (`getAvailableName` with
   * a claim): this default streams the bytes through the app and refuses a taken destination
   * with `FileExistsError`, but a driver's native copy may not be able to tell (S3's CopyObject
   * sends If-None-Match, which not every S3 server checks on a copy). Direct uploads check and
   * attach a copy, which the client's still-valid upload target cannot reach.
   */
  async copy(source: string, destination: string, options: CallOptions = {}): Promise<void> {
    this.checkName(source);
    this.checkName(destination);
    const { signal } = options;
    await abortable(signal, 'save', destination, async () => {
      const body = await this.readObject(source, { signal });
      await this.writeObject(destination, await toContentSource(body), { exclusive: true, signal });
    });
  }

  /** Delete the file; deleting a name that does not exist is not an error. */
  async delete(name: string, options: CallOptions = {}): Promise<void> {
    this.checkName(name);
    return abortable(options.signal, 'delete', name, () => this.deleteObject(name, { signal: options.signal }));
  }

  /**
   * Delete many files; missing names count as deleted. Never throws for a single file: each
   * failure is reported in `failed` with its error, so a caller can retry just those. Drivers
   * with a bulk request (S3 DeleteObjects) use it; the others delete a few at a time.
   */
  async deleteMany(names: Iterable<string>, options: CallOptions = {}): Promise<DeleteManyResult> {
    const unique = [...new Set(names)];
    for (const name of unique) this.checkName(name);
    throwIfAborted(options.signal, 'deleteMany', undefined);
    if (unique.length === 0) return { deleted: [], failed: [] };
    const result = await this.deleteObjects(unique, { signal: options.signal });
    const { signal } = options;
    if (signal?.aborted) {
      // What the driver could not finish reads as aborted, not as the driver's low-level error.
      for (const failure of result.failed) failure.error = abortedError(signal, 'deleteMany', failure.name, failure.error);
    }
    return result;
  }

  async size(name: string): Promise<number> {
    return this.objectSize(this.checkName(name));
  }

  async url(name: string): Promise<string> {
    return this.objectUrl(this.checkName(name));
  }

  async modifiedTime(name: string): Promise<Date> {
    return this.objectModifiedTime(this.checkName(name));
  }

  /** Immediate children of `path` ('' for the top): sub-directory names and file names. */
  async listdir(path = ''): Promise<DirectoryListing> {
    const normalised = path.replace(/\/+$/, '');
    if (normalised !== '') validateFileName(normalised);
    const listing = await this.listObjects(normalised);
    return { directories: [...listing.directories].sort(), files: [...listing.files].sort() };
  }

  /**
   * Every file under `prefix` (a directory name, '' for all), with its modification time, in no
   * particular order. Streams: drivers with paged listings (S3) never hold the whole list.
   */
  async *walk(prefix = ''): AsyncGenerator<{ name: string; modified: Date }> {
    const normalised = prefix.replace(/\/+$/, '');
    if (normalised !== '') validateFileName(normalised);
    yield* this.walkObjects(normalised);
  }

  /**
   * Django's `get_available_name`: `name` if it is free and fits `maxLength`, otherwise
   * `stem_<7 random chars>.ext`, truncating the stem to fit. One `exists` per candidate. With a
   * `claim`, each candidate is reserved first and the one returned stays reserved: for an upload
   * that happens elsewhere (a direct upload), as `save` does for its own.
   */
  async getAvailableName(name: string, maxLength?: number, claim?: NameClaim): Promise<string> {
    return this.claimAvailableName(name, maxLength, claim);
  }

  /**
   * Check a name a caller gave: safe (`validateFileName`) and within the driver's limits
   * (`FileNameTooLongError`). Returns it unchanged.
   */
  checkName(name: string): string {
    validateFileName(name);
    const { maxBytes, maxSegmentBytes } = this.nameLimits();
    if (maxBytes !== undefined) {
      const bytes = Buffer.byteLength(name, 'utf8');
      if (bytes > maxBytes) {
        throw new FileNameTooLongError(name, maxBytes, 'bytes', `File name ${JSON.stringify(name.slice(0, 80))}… is ${bytes} bytes of UTF-8; this storage keeps names of at most ${maxBytes} bytes.`);
      }
    }
    if (maxSegmentBytes !== undefined) {
      for (const segment of name.split('/')) {
        const bytes = Buffer.byteLength(segment, 'utf8');
        if (bytes > maxSegmentBytes) {
          throw new FileNameTooLongError(name, maxSegmentBytes, 'bytes', `A part of file name ${JSON.stringify(name.slice(0, 80))} is ${bytes} bytes of UTF-8; this storage keeps parts of at most ${maxSegmentBytes} bytes.`);
        }
      }
    }
    return name;
  }

  /**
   * Django's `generate_filename`: validate the path, clean the file name part
   * (`getValidName`) and normalise the path.
   */
  generateFilename(name: string): string {
    validateFileName(name);
    const { dir } = splitName(name);
    const base = name.slice(dir ? dir.length + 1 : 0);
    return joinName(dir, this.getValidName(base));
  }

  /** Django's `get_valid_name`; override to change how file names are cleaned. */
  getValidName(name: string): string {
    return getValidFileName(name);
  }

  // ---- driver primitives: names are validated; see the rules at the top of this file ----

  protected abstract writeObject(name: string, source: ContentSource, options: WriteOptions): Promise<void>;
  protected abstract readObject(name: string, options: CallOptions): Promise<Readable>;
  protected abstract objectExists(name: string): Promise<boolean>;
  protected abstract deleteObject(name: string, options: CallOptions): Promise<void>;
  protected abstract objectSize(name: string): Promise<number>;
  protected abstract objectUrl(name: string): Promise<string>;
  protected abstract objectModifiedTime(name: string): Promise<Date>;
  protected abstract listObjects(path: string): Promise<DirectoryListing>;
  /**
   * Optional: `range` of a file read natively (S3 ranged GET, a file position); the range is
   * checked. Undefined: not for this file, and the base class reads it whole and slices it.
   */
  protected readObjectRange?(name: string, range: ByteRange, options: CallOptions): Promise<Readable | undefined>;

  /** What identifies this storage's files across processes (see `id`); undefined: this object alone. */
  protected identity(): string | undefined {
    return undefined;
  }

  /** `walk` for a validated prefix: one `listObjects` per directory and one `objectModifiedTime` per file. */
  protected async *walkObjects(prefix: string): AsyncGenerator<{ name: string; modified: Date }> {
    const pending = [prefix];
    while (pending.length > 0) {
      const directory = pending.pop()!;
      const listing = await this.listObjects(directory);
      const join = (child: string) => (directory === '' ? child : `${directory}/${child}`);
      for (const file of listing.files) yield { name: join(file), modified: await this.objectModifiedTime(join(file)) };
      for (const child of listing.directories) pending.push(join(child));
    }
  }

  /** The driver's limits on names; none by default. */
  protected nameLimits(): NameLimits {
    return {};
  }

  /** `deleteMany` for validated, distinct names: a few `deleteObject` calls at a time. */
  protected async deleteObjects(names: string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    const limit = pLimit(DELETE_CONCURRENCY);
    const result: DeleteManyResult = { deleted: [], failed: [] };
    await Promise.all(
      names.map((name) =>
        limit(async () => {
          try {
            options.signal?.throwIfAborted();
            await this.deleteObject(name, options);
            result.deleted.push(name);
          } catch (error) {
            result.failed.push({ name, error });
          }
        }),
      ),
    );
    return result;
  }

  /** The first candidate that is free in the storage (and claimed, with a claim). */
  private async claimAvailableName(name: string, maxLength: number | undefined, claim: NameClaim | undefined): Promise<string> {
    this.checkName(name);
    let candidate = firstCandidate(name, maxLength);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt += 1) {
      this.checkName(candidate);
      if (!claim || (await claim.claim(candidate))) {
        if (!(await this.objectExists(candidate))) return candidate;
        await claim?.release(candidate);
      }
      candidate = alternativeName(name, maxLength);
    }
    throw noFreeName(name);
  }

  private async saveUnderFreeName(
    name: string,
    source: ContentSource,
    maxLength: number | undefined,
    claim: NameClaim | undefined,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    let candidate = firstCandidate(name, maxLength);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt += 1) {
      this.checkName(candidate);
      throwIfAborted(signal, 'save', candidate);
      if (!claim || (await claim.claim(candidate))) {
        try {
          const current = candidate;
          await abortable(signal, 'save', current, () => this.writeObject(current, source, { exclusive: true, signal }));
          return candidate;
        } catch (error) {
          if (!(error instanceof FileExistsError)) throw error;
          await claim?.release(candidate);
        }
      }
      candidate = alternativeName(name, maxLength);
    }
    throw noFreeName(name);
  }

  private async writeExclusively(name: string, source: ContentSource, requested: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.writeObject(name, source, { exclusive: true, signal });
    } catch (error) {
      if (!(error instanceof FileExistsError)) throw error;
      throw new FileExistsError(
        name,
        `Another writer took '${name}' (a free variant of '${requested}') while this stream was uploading; ` +
          'a one-shot stream cannot be resent. Save a Buffer, ContentFile or LocalFile to get automatic retries.',
        { cause: error },
      );
    }
  }

  private writeObjectFromStream(name: string, body: Readable, signal: AbortSignal | undefined): Promise<void> {
    const source: ContentSource = { size: undefined, replayable: false, buffer: undefined, stream: () => body };
    return this.writeObject(name, source, { exclusive: false, signal });
  }
}

// `instanceof Storage` also accepts drivers built on another loaded copy of the core (brand.ts).
brand(Storage, 'Storage');

/** Reject at once when `signal` has fired. */
function throwIfAborted(signal: AbortSignal | undefined, operation: string, name: string | undefined): void {
  if (signal?.aborted) throw abortedError(signal, operation, name, undefined);
}

/**
 * Run a driver call under `signal`: once it fired, whatever the call rejects with (an SDK
 * AbortError, a destroyed stream) becomes one OperationAbortedError naming the caller's operation.
 */
export async function abortable<T>(signal: AbortSignal | undefined, operation: string, name: string | undefined, call: () => Promise<T>): Promise<T> {
  throwIfAborted(signal, operation, name);
  try {
    return await call();
  } catch (error) {
    if (signal?.aborted && !(error instanceof OperationAbortedError)) throw abortedError(signal, operation, name, error);
    throw error;
  }
}

/** The error an aborted call ends with; its cause is the signal's reason (the caller's own value). */
export function abortedError(signal: AbortSignal, operation: string, name: string | undefined, driverError: unknown): OperationAbortedError {
  if (driverError instanceof OperationAbortedError) return driverError;
  const what = name === undefined ? operation : `${operation} '${name}'`;
  return new OperationAbortedError(`${what} was aborted.`, { cause: signal.reason });
}

function checkRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
    throw new RangeError(`A byte range needs integers 0 <= start <= end, got ${JSON.stringify(range)}.`);
  }
}

/** The fallback for drivers without `readObjectRange`: skip to `start`, stop after `end`. */
function sliceStream(body: Readable, range: ByteRange): Readable {
  const { start, end = Number.MAX_SAFE_INTEGER } = range;
  let position = 0;
  async function* slice(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const from = Math.max(0, start - position);
        const to = Math.min(chunk.length, end + 1 - position);
        position += chunk.length;
        if (to > from) yield chunk.subarray(from, to);
        if (position > end) return;
      }
    } finally {
      body.destroy();
    }
  }
  return Readable.from(slice(), { objectMode: false });
}

/** Shorten the stem so `name` fits `maxLength` (used when overwriting, where no suffix is added). */
function truncateToFit(name: string, maxLength?: number): string {
  if (maxLength === undefined || name.length <= maxLength) return name;
  const { dir, stem, ext } = splitName(name);
  const root = stem.slice(0, stem.length - (name.length - maxLength));
  if (root === '') {
    throw new SuspiciousFileOperation(
      `Storage can not find an available filename for '${name}'. ` +
        'Please make sure that the corresponding file field allows sufficient "maxLength".',
    );
  }
  return (dir ? `${dir}/` : '') + root + ext;
}

function noFreeName(name: string): FileExistsError {
  return new FileExistsError(name, `No free variant of '${name}' found after ${MAX_NAME_ATTEMPTS} attempts.`);
}
