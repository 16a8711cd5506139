/**
 * Files under one directory. Writes go to a temporary file in the target directory and are
 * then renamed (overwrite) or hard-linked (exclusive: `link` fails atomically when the name is
 * taken), so readers never see a half-written file and two writers never replace each other.
 * Every name is resolved and checked to stay inside `location`, whatever the caller validated.
 */
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ContentSource } from '../../content';
import {
  ConfigurationError,
  FileExistsError,
  FileFieldError,
  FileNotFoundError,
  PermissionDeniedError,
  SuspiciousFileOperation,
} from '../../errors';
import { randomSuffix } from '../../names';
import { type ByteRange, type DirectoryListing, type NameLimits, Storage, type StorageOptions, type WriteOptions } from '../../storage';

export interface FileSystemStorageOptions extends StorageOptions {
  /** The directory that holds the files (created when needed). */
  location: string;
  /** URL prefix the files are served under, e.g. `https://example.com/media/`. */
  baseUrl?: string;
}

/** Temporary files carry this suffix and are hidden from `listdir`. */
const TEMP_SUFFIX = '.filefield-tmp';

export class FileSystemStorage extends Storage {
  readonly location: string;
  readonly baseUrl: string | undefined;

  constructor(options: FileSystemStorageOptions) {
    super(options);
    if (!options || typeof options.location !== 'string' || options.location === '') {
      throw new ConfigurationError('FileSystemStorage needs a `location` directory.');
    }
    this.location = resolve(options.location);
    this.baseUrl = options.baseUrl === undefined ? undefined : options.baseUrl.replace(/\/?$/, '/');
  }

  /** The absolute path of `name`; refuses anything that resolves outside `location`. */
  path(name: string): string {
    if (isAbsolute(name)) throw new SuspiciousFileOperation(`Detected path traversal attempt in ${JSON.stringify(name)}.`);
    const full = resolve(this.location, name);
    if (full !== this.location && !full.startsWith(this.location + sep)) {
      throw new SuspiciousFileOperation(`The joined path (${JSON.stringify(name)}) is located outside of the storage location.`);
    }
    return full;
  }

  protected async writeObject(name: string, source: ContentSource, options: WriteOptions): Promise<void> {
    const target = this.path(name);
    const directory = resolve(target, '..');
    await fsCall(name, () => mkdir(directory, { recursive: true }));
    if (options.exclusive && (await this.objectExists(name))) throw new FileExistsError(name);
    const temporary = join(directory, `.${randomSuffix(12)}${TEMP_SUFFIX}`);
    try {
      await fsCall(name, () => pipeline(source.stream(), createWriteStream(temporary, { flags: 'wx' })));
      if (options.exclusive) {
        await fsCall(name, () => link(temporary, target));
      } else {
        await fsCall(name, () => rename(temporary, target));
      }
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  protected async readObject(name: string): Promise<Readable> {
    const handle = await fsCall(name, () => open(this.path(name), 'r'));
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new FileNotFoundError(name);
    }
    return handle.createReadStream();
  }

  /** A range read from the file's position: nothing before `start` is read. */
  protected override async readObjectRange(name: string, range: ByteRange): Promise<Readable> {
    const handle = await fsCall(name, () => open(this.path(name), 'r'));
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new FileNotFoundError(name);
    }
    return handle.createReadStream({ start: range.start, end: range.end });
  }

  protected async objectExists(name: string): Promise<boolean> {
    try {
      return (await stat(this.path(name))).isFile();
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return false;
      throw error;
    }
  }

  protected async deleteObject(name: string): Promise<void> {
    try {
      await unlink(this.path(name));
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return;
      throw mapError(name, error);
    }
  }

  protected async objectSize(name: string): Promise<number> {
    return (await this.statFile(name)).size;
  }

  protected async objectUrl(name: string): Promise<string> {
    if (this.baseUrl === undefined) {
      throw new ConfigurationError('FileSystemStorage has no `baseUrl`, so it cannot build URLs; pass `baseUrl` to the constructor.');
    }
    return this.baseUrl + name.split('/').map(encodeURIComponent).join('/');
  }

  protected async objectModifiedTime(name: string): Promise<Date> {
    return (await this.statFile(name)).mtime;
  }

  /** The directory: two storages on one directory hold the same files. */
  protected override identity(): string {
    return `file:${this.location}`;
  }

  /** NAME_MAX of Linux and macOS file systems. */
  protected override nameLimits(): NameLimits {
    return { maxSegmentBytes: 255 };
  }

  protected async listObjects(path: string): Promise<DirectoryListing> {
    let entries;
    try {
      entries = await readdir(this.path(path), { withFileTypes: true });
    } catch (error) {
      if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return { directories: [], files: [] };
      throw mapError(path, error);
    }
    const directories: string[] = [];
    const files: string[] = [];
    for (const entry of entries) {
      if (entry.isDirectory()) directories.push(entry.name);
      else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) files.push(entry.name);
    }
    return { directories, files };
  }

  private async statFile(name: string) {
    const stats = await fsCall(name, () => stat(this.path(name)));
    if (!stats.isFile()) throw new FileNotFoundError(name);
    return stats;
  }
}

function isCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}

function mapError(name: string, error: unknown): unknown {
  if (error instanceof FileFieldError) return error;
  if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR') || isCode(error, 'EISDIR')) return new FileNotFoundError(name, { cause: error });
  if (isCode(error, 'EEXIST')) return new FileExistsError(name, undefined, { cause: error });
  if (isCode(error, 'EACCES') || isCode(error, 'EPERM')) {
    return new PermissionDeniedError(`Permission denied for '${name}' in the storage directory.`, { cause: error });
  }
  return error;
}

async function fsCall<T>(name: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw mapError(name, error);
  }
}
