/**
 * `FieldFile`: the value of a file column, bound to its row and field. A lazy value object:
 * it holds a name, and does storage I/O only when a method needs it (loading 10k rows costs no
 * request). It serialises to its name (`toJSON`).
 */
import { inspect } from 'node:util';
import { brand } from './brand';
import { type Content, contentName, knownSize } from './content';
import { FileFieldError, NoFileError } from './errors';
import type { FileFieldDefinition } from './field';
import { validateFileName } from './names';
import type { CallOptions, NameClaim, Storage } from './storage';
import type { ChunksOptions, OpenMode, StorageFile } from './storage-file';

/** What an ORM adapter provides: how a FieldFile's row is written, and the ledger behind it. */
export interface FieldFileHost<T = any> {
  /**
   * Write the owning row (insert it if it is new) after a file's name changed. `discarded` is a
   * name `delete()` took off the row: the adapter releases it in the same transaction, whatever
   * the field's `deleteReplaced` says.
   */
  persist(instance: T, field: FileFieldDefinition<T>, file: FieldFile<T>, change?: { discarded?: string }): Promise<void>;
  /** The ledger claim for uploads through this host (upload intents; always a free name). */
  nameClaim?(instance: T, field: FileFieldDefinition<T>): NameClaim | undefined;
  /** `save()` stored a new file for this field (before the row is written, if it is). */
  uploaded?(instance: T, field: FileFieldDefinition<T>, file: FieldFile<T>, name: string): void;
  /** An upload whose row was not written: let the sweeper check it now rather than after the grace period. */
  abandon?(instance: T, field: FileFieldDefinition<T>, name: string): Promise<void>;
}

export interface FieldFileSaveOptions extends CallOptions {
  /** Persist the owning row afterwards (default true, like Django's `save=True`). */
  save?: boolean;
}

export class FieldFile<T = any> {
  readonly instance: T;
  readonly field: FileFieldDefinition<T>;
  /**
   * The name the row held when this FieldFile took over its field, or last wrote (undefined: not
   * known, e.g. a column a query did not select). Adapters measure changes against it.
   */
  savedName: string | null | undefined;
  /** The program assigned the field (a name, null, another row's FieldFile): a change even if the name is the same. */
  assigned = false;
  private currentName: string | null;
  private cachedSize: number | undefined;
  private file: StorageFile | undefined;
  private readonly host: FieldFileHost<T> | undefined;

  constructor(instance: T, field: FileFieldDefinition<T>, name: string | null, host?: FieldFileHost<T>) {
    this.instance = instance;
    this.field = field;
    this.currentName = name === '' ? null : name;
    this.savedName = this.currentName;
    this.host = host;
  }

  /** Whether the program changed the field since the row was loaded or last written (`save()`, `delete()`, `name = …`, an assignment). */
  get changed(): boolean {
    return this.assigned || this.currentName !== this.savedName;
  }

  /** The row holds `name` now (just written, or what the database holds): the field is unchanged again. Adapters call it. */
  settle(name: string | null): void {
    this.restoreName(name);
    this.savedName = name;
    this.assigned = false;
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
    this.dropFile();
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

  /**
   * (Re)open the file from its start; returns this, like Django. The reader stays open for the
   * next `read()` until `close()`: see "Reading safely" in the README.
   */
  open(mode: OpenMode = 'r', options: CallOptions = {}): this {
    const name = this.requireName();
    void this.file?.close();
    this.file = this.storage.open(name, mode, options);
    return this;
  }

  /**
   * Up to `size` bytes from the current position (opening the file if needed); the rest when
   * omitted. Like Django, the download stays open for the next call, holding a connection or a
   * file descriptor: read to the end, `close()`, or use `await using file = field.open()`.
   */
  async read(size?: number): Promise<Buffer> {
    if (!this.file) this.open();
    return this.file!.read(size);
  }

  /**
   * The whole file in chunks, from the start, streamed; leaving the loop early closes the
   * download. Every chunk is `chunkSize` bytes except the last, as in Django; with
   * `{ exact: false }`, chunks as they arrive (at most `chunkSize` bytes, not copied): see
   * `StorageFile.chunks`.
   */
  async *chunks(chunkSize = 64 * 1024, options: CallOptions & ChunksOptions = {}): AsyncGenerator<Buffer> {
    const name = this.requireName();
    yield* this.storage.open(name, 'r', options).chunks(chunkSize, options);
  }

  /** Stop the download `read()` opened (its connection is released before this resolves). */
  async close(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    await file?.close();
  }

  /** `await using file = row.avatar.open()`: close() when the block ends, however it ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Upload `content` as `name` (after `uploadTo` and unique naming) and associate it; then, unless
   * `{ save: false }`, persist the owning row through the ORM adapter. Returns the stored name.
   *
   * Through an adapter, the upload claims its name in the ledger first (so it always gets a free
   * name, even on a storage with `fileOverwrite`, and a crash before the row commits leaves a
   * claim the sweeper cleans up). If the upload itself fails, the names it claimed are handed to
   * the sweeper at once (the adapter's `abandon`). If persisting fails, the field gets its previous name back and
   * the upload is handed to the sweeper. The previous file is not deleted here: the adapter
   * releases it in the transaction that writes the row.
   */
  async save(name: string | undefined, content: Content, options: FieldFileSaveOptions = {}): Promise<string> {
    const requested = name ?? contentName(content);
    if (requested === undefined) {
      throw new FileFieldError('E_NO_NAME', `${this.field.label}: save() needs a name when the content carries none.`);
    }
    const generated = this.field.generateFilename(this.instance, requested);
    const claim = heldNames(this.host?.nameClaim?.(this.instance, this.field));
    let stored: string;
    try {
      stored = await this.storage.save(generated, content, { maxLength: this.field.maxLength, claim, signal: options.signal });
    } catch (error) {
      // A failed upload (aborted, refused by a validator mid-stream, a storage error) may have left
      // bytes under the names it still holds: the sweeper checks them now, not after the grace period.
      for (const name of claim?.held ?? []) await this.host?.abandon?.(this.instance, this.field, name).catch(() => undefined);
      throw error;
    }
    const previous = this.currentName;
    this.name = this.field.assertStorable(stored);
    this.cachedSize = knownSize(content);
    this.host?.uploaded?.(this.instance, this.field, this, stored);
    if (options.save ?? true) {
      try {
        await this.persist();
      } catch (error) {
        this.restoreName(previous);
        await this.host?.abandon?.(this.instance, this.field, stored).catch(() => undefined);
        throw error;
      }
      this.settle(this.currentName);
    }
    return stored;
  }

  /**
   * Empty the field and, unless `{ save: false }`, persist the row. Through an ORM adapter the
   * file itself is released in the transaction that writes the row, and the sweeper deletes it
   * once no row names it: never while another row shares it, never a field's default, and
   * nothing if that transaction rolls back (unlike Django, which deletes at once). With
   * `{ save: false }` nothing is released until the row is saved. A FieldFile without an
   * adapter has no rows to ask, so it deletes the file at once, as Django does.
   */
  async delete(options: FieldFileSaveOptions = {}): Promise<void> {
    const name = this.currentName;
    if (name === null) return;
    await this.close();
    if (!this.host) {
      if (options.save ?? true) await this.persist();
      if (!this.field.isDefault(name)) await this.storage.delete(name, { signal: options.signal });
      this.name = null;
      return;
    }
    this.name = null;
    if (!(options.save ?? true)) return;
    try {
      await this.host.persist(this.instance, this.field, this, { discarded: name });
    } catch (error) {
      this.restoreName(name);
      throw error;
    }
    this.settle(null);
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

  /** Put a name back without validating it (after a failed write; a legacy name the core refuses). */
  protected restoreName(name: string | null): void {
    this.currentName = name;
    this.cachedSize = undefined;
    this.dropFile();
  }

  /**
   * Forget the open file object of the previous name. A reader's download is released now rather
   * than when the collector finds it; a writer is left alone (closing it would finish its upload).
   */
  private dropFile(): void {
    const file = this.file;
    this.file = undefined;
    if (file?.readable) file.close().catch(() => undefined);
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

/** A claim that remembers the names it holds (claimed and not released). */
function heldNames(claim: NameClaim | undefined): (NameClaim & { held: Set<string> }) | undefined {
  if (!claim) return undefined;
  const held = new Set<string>();
  return {
    held,
    async claim(name) {
      const claimed = await claim.claim(name);
      if (claimed) held.add(name);
      return claimed;
    },
    async release(name) {
      await claim.release(name);
      held.delete(name);
    },
  };
}

// `instanceof FieldFile` also accepts a FieldFile of another loaded copy of the core (brand.ts).
brand(FieldFile, 'FieldFile');
