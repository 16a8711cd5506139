/**
 * `FieldFile`: the value of a file column, bound to its row and field. A lazy value object:
 * it holds a name, and does storage I/O only when a method needs it (loading 10k rows costs no
 * request). It serialises to its name (`toJSON`).
 */
import { inspect } from 'node:util';
import { type Content, contentName, knownSize } from './content';
import { FileFieldError, NoFileError } from './errors';
import type { FileFieldDefinition } from './field';
import { validateFileName } from './names';
import type { Storage } from './storage';
import type { OpenMode, StorageFile } from './storage-file';

/** What an ORM adapter provides so `save`/`delete` with `{ save: true }` can persist the row. */
export interface FieldFileHost<T = any> {
  /** Write the owning row (insert it if it is new) after a file's name changed. */
  persist(instance: T, field: FileFieldDefinition<T>, file: FieldFile<T>): Promise<void>;
}

export interface FieldFileSaveOptions {
  /** Persist the owning row afterwards (default true, like Django's `save=True`). */
  save?: boolean;
}

export class FieldFile<T = any> {
  readonly instance: T;
  readonly field: FileFieldDefinition<T>;
  private currentName: string | null;
  private cachedSize: number | undefined;
  private file: StorageFile | undefined;
  private readonly host: FieldFileHost<T> | undefined;

  constructor(instance: T, field: FileFieldDefinition<T>, name: string | null, host?: FieldFileHost<T>) {
    this.instance = instance;
    this.field = field;
    this.currentName = name === '' ? null : name;
    this.host = host;
  }

  /** The stored name, or null when no file is associated. */
  get name(): string | null {
    return this.currentName;
  }

  /** Point at another stored file (no I/O; the old file is untouched). */
  set name(name: string | null) {
    if (name !== null && name !== '') validateFileName(name);
    this.currentName = name === '' ? null : name;
    this.cachedSize = undefined;
    this.file = undefined;
  }

  get storage(): Storage {
    return this.field.storage;
  }

  /** True when a file is associated (Django's `bool(field_file)`). */
  get hasFile(): boolean {
    return this.currentName !== null;
  }

  async url(): Promise<string> {
    return this.storage.url(this.requireName());
  }

  /** Size in bytes; remembered after the first call or a save. */
  async size(): Promise<number> {
    const name = this.requireName();
    this.cachedSize ??= await this.storage.size(name);
    return this.cachedSize;
  }

  async exists(): Promise<boolean> {
    return this.currentName !== null && this.storage.exists(this.currentName);
  }

  /** (Re)open the file from its start; returns this, like Django. */
  open(mode: OpenMode = 'r'): this {
    const name = this.requireName();
    void this.file?.close();
    this.file = this.storage.open(name, mode);
    return this;
  }

  /** Up to `size` bytes from the current position (opening the file if needed); the rest when omitted. */
  async read(size?: number): Promise<Buffer> {
    if (!this.file) this.open();
    return this.file!.read(size);
  }

  /** The whole file in chunks, from the start, streamed. */
  async *chunks(chunkSize = 64 * 1024): AsyncGenerator<Buffer> {
    const name = this.requireName();
    yield* this.storage.open(name, 'r').chunks(chunkSize);
  }

  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }

  /**
   * Upload `content` as `name` (after `uploadTo` and unique naming) and associate it; then, unless
   * `{ save: false }`, persist the owning row through the ORM adapter. Returns the stored name.
   * The previous file is not deleted here: the adapter deletes replaced files after the row is saved.
   */
  async save(name: string | undefined, content: Content, options: FieldFileSaveOptions = {}): Promise<string> {
    const requested = name ?? contentName(content);
    if (requested === undefined) {
      throw new FileFieldError('E_NO_NAME', `${this.field.label}: save() needs a name when the content carries none.`);
    }
    const generated = this.field.generateFilename(this.instance, requested);
    const stored = await this.storage.save(generated, content, { maxLength: this.field.maxLength });
    this.name = validateFileName(stored);
    this.cachedSize = knownSize(content);
    if (options.save ?? true) await this.persist();
    return stored;
  }

  /**
   * Delete the file from the storage and empty the field; unless `{ save: false }`, persist the row.
   * Like Django, this deletes unconditionally: use the adapter's row deletion for reference-safe cleanup.
   */
  async delete(options: FieldFileSaveOptions = {}): Promise<void> {
    if (this.currentName === null) return;
    await this.close();
    await this.storage.delete(this.currentName);
    this.name = null;
    if (options.save ?? true) await this.persist();
  }

  toJSON(): string | null {
    return this.currentName;
  }

  toString(): string {
    return this.currentName ?? '';
  }

  [inspect.custom](): string {
    return `<FieldFile: ${this.currentName ?? 'None'}>`;
  }

  private requireName(): string {
    if (this.currentName === null) throw new NoFileError(this.field.property);
    return this.currentName;
  }

  private async persist(): Promise<void> {
    if (!this.host) {
      throw new FileFieldError(
        'E_NO_HOST',
        `${this.field.label}: this FieldFile is not attached to an ORM adapter, so it cannot save its row; pass { save: false }.`,
      );
    }
    await this.host.persist(this.instance, this.field, this);
  }
}
