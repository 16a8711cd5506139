/**
 * Keeps files in a Map: for tests and examples. It is the only driver that holds whole files
 * in memory, by design.
 */
import { Readable } from 'node:stream';
import type { ContentSource } from '../../content';
import { FileExistsError, FileNotFoundError } from '../../errors';
import { type DirectoryListing, Storage, type StorageOptions, type WriteOptions } from '../../storage';

export interface MemoryStorageOptions extends StorageOptions {
  /** Prefix for `url()`; defaults to `memory://`. */
  baseUrl?: string;
}

interface StoredFile {
  data: Buffer;
  modified: Date;
}

export class MemoryStorage extends Storage {
  private readonly files = new Map<string, StoredFile>();
  private readonly baseUrl: string;

  constructor(options: MemoryStorageOptions = {}) {
    super(options);
    this.baseUrl = (options.baseUrl ?? 'memory://').replace(/\/?$/, '/');
  }

  /** Every stored name (a testing aid). */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  protected async writeObject(name: string, source: ContentSource, options: WriteOptions): Promise<void> {
    if (options.exclusive && this.files.has(name)) throw new FileExistsError(name);
    const chunks: Buffer[] = [];
    for await (const chunk of source.stream()) chunks.push(Buffer.from(chunk));
    // Checked again after the body arrived: another save may have taken the name meanwhile.
    if (options.exclusive && this.files.has(name)) throw new FileExistsError(name);
    this.files.set(name, { data: Buffer.concat(chunks), modified: new Date() });
  }

  protected async readObject(name: string): Promise<Readable> {
    // A copy: readers hand out views of what the stream delivers, and a caller writing into one
    // must not change the stored file.
    return Readable.from([Buffer.from(this.get(name).data)]);
  }

  protected async objectExists(name: string): Promise<boolean> {
    return this.files.has(name);
  }

  protected async deleteObject(name: string): Promise<void> {
    this.files.delete(name);
  }

  protected async objectSize(name: string): Promise<number> {
    return this.get(name).data.byteLength;
  }

  protected async objectUrl(name: string): Promise<string> {
    return this.baseUrl + name.split('/').map(encodeURIComponent).join('/');
  }

  protected async objectModifiedTime(name: string): Promise<Date> {
    return this.get(name).modified;
  }

  protected async listObjects(path: string): Promise<DirectoryListing> {
    const prefix = path === '' ? '' : `${path}/`;
    const directories = new Set<string>();
    const files: string[] = [];
    for (const name of this.files.keys()) {
      if (!name.startsWith(prefix)) continue;
      const rest = name.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash === -1) files.push(rest);
      else directories.add(rest.slice(0, slash));
    }
    return { directories: [...directories], files };
  }

  private get(name: string): StoredFile {
    const file = this.files.get(name);
    if (!file) throw new FileNotFoundError(name);
    return file;
  }
}
