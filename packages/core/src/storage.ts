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
 * - `listObjects` of a directory that does not exist gives empty lists.
 */
import type { Readable } from 'node:stream';
import { type Content, type ContentSource, toContentSource } from './content';
import { FileExistsError, SuspiciousFileOperation } from './errors';
import { alternativeName, firstCandidate, getValidFileName, joinName, splitName, validateFileName } from './names';
import { type OpenMode, StorageFile } from './storage-file';

export interface StorageOptions {
  /** Replace a file saved under a taken name (true) or pick a unique name (false, the default). */
  fileOverwrite?: boolean;
}

export interface SaveOptions {
  /** The longest name the caller can store (a column's length); names are shortened to fit. */
  maxLength?: number;
}

export interface WriteOptions {
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

  protected constructor(options: StorageOptions = {}) {
    this.fileOverwrite = options.fileOverwrite ?? false;
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
    validateFileName(name);
    const source = await toContentSource(content);
    const { maxLength } = options;
    let stored: string;
    if (this.fileOverwrite) {
      stored = truncateToFit(name, maxLength);
      await this.writeObject(stored, source, { exclusive: false });
    } else if (!source.replayable) {
      stored = await this.getAvailableName(name, maxLength);
      await this.writeExclusively(stored, source, name);
    } else {
      stored = await this.saveUnderFreeName(name, source, maxLength);
    }
    // A driver (or a subclass overriding getAvailableName) must not hand back an unsafe name.
    return validateFileName(stored);
  }

  /** A file object for sequential reading ('r') or writing ('w', replaces the file). */
  open(name: string, mode: OpenMode = 'r'): StorageFile {
    validateFileName(name);
    return new StorageFile(
      {
        createReadStream: (fileName) => this.readObject(fileName),
        writeStream: (fileName, body) => this.writeObjectFromStream(fileName, body),
      },
      name,
      mode,
    );
  }

  /** A stream of the whole file; `FileNotFoundError` when it does not exist. */
  async createReadStream(name: string): Promise<Readable> {
    return this.readObject(validateFileName(name));
  }

  async exists(name: string): Promise<boolean> {
    return this.objectExists(validateFileName(name));
  }

  /** Delete the file; deleting a name that does not exist is not an error. */
  async delete(name: string): Promise<void> {
    return this.deleteObject(validateFileName(name));
  }

  async size(name: string): Promise<number> {
    return this.objectSize(validateFileName(name));
  }

  async url(name: string): Promise<string> {
    return this.objectUrl(validateFileName(name));
  }

  async modifiedTime(name: string): Promise<Date> {
    return this.objectModifiedTime(validateFileName(name));
  }

  /** Immediate children of `path` ('' for the top): sub-directory names and file names. */
  async listdir(path = ''): Promise<DirectoryListing> {
    const normalised = path.replace(/\/+$/, '');
    if (normalised !== '') validateFileName(normalised);
    const listing = await this.listObjects(normalised);
    return { directories: [...listing.directories].sort(), files: [...listing.files].sort() };
  }

  /**
   * Django's `get_available_name`: `name` if it is free and fits `maxLength`, otherwise
   * `stem_<7 random chars>.ext`, truncating the stem to fit. One `exists` per candidate.
   */
  async getAvailableName(name: string, maxLength?: number): Promise<string> {
    validateFileName(name);
    let candidate = firstCandidate(name, maxLength);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt += 1) {
      if (!(await this.objectExists(candidate))) return candidate;
      candidate = alternativeName(name, maxLength);
    }
    throw noFreeName(name);
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
  protected abstract readObject(name: string): Promise<Readable>;
  protected abstract objectExists(name: string): Promise<boolean>;
  protected abstract deleteObject(name: string): Promise<void>;
  protected abstract objectSize(name: string): Promise<number>;
  protected abstract objectUrl(name: string): Promise<string>;
  protected abstract objectModifiedTime(name: string): Promise<Date>;
  protected abstract listObjects(path: string): Promise<DirectoryListing>;

  private async saveUnderFreeName(name: string, source: ContentSource, maxLength?: number): Promise<string> {
    let candidate = firstCandidate(name, maxLength);
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt += 1) {
      try {
        await this.writeObject(candidate, source, { exclusive: true });
        return candidate;
      } catch (error) {
        if (!(error instanceof FileExistsError)) throw error;
        candidate = alternativeName(name, maxLength);
      }
    }
    throw noFreeName(name);
  }

  private async writeExclusively(name: string, source: ContentSource, requested: string): Promise<void> {
    try {
      await this.writeObject(name, source, { exclusive: true });
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

  private writeObjectFromStream(name: string, body: Readable): Promise<void> {
    const source: ContentSource = { size: undefined, replayable: false, buffer: undefined, stream: () => body };
    return this.writeObject(name, source, { exclusive: false });
  }
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
