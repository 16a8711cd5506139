/**
 * A file field's definition, shared by every ORM adapter: which storage, where uploads go,
 * the default file, the column's length. Adapters create one per decorated column or
 * configured model field.
 */
import strftime from 'strftime';
import { ConfigurationError, FileNameTooLongError } from './errors';
import { joinName, validateFileName } from './names';
import { type StorageRef, type StorageRegistry, storages } from './registry';
import type { Storage } from './storage';

/** A directory (may contain strftime tokens such as `%Y/%m/%d`) or a function of the row. */
export type UploadTo<T = any> = string | ((instance: T, filename: string) => string);

export interface FileFieldOptions<T = any> {
  uploadTo?: UploadTo<T>;
  /** An instance, a registered name, or a factory; the default storage otherwise. */
  storage?: StorageRef;
  /** A file name used when the column is empty; it is never deleted by filefield. */
  default?: string;
  /** The column's length; stored names are shortened to fit. Default 100, as in Django. */
  maxLength?: number;
  /** Whether the column accepts NULL (an empty field). Default true. */
  nullable?: boolean;
  /** Delete the previous file when a saved row's file is replaced. Default true. */
  deleteReplaced?: boolean;
}

export class FileFieldDefinition<T = any> {
  readonly model: string;
  readonly property: string;
  readonly uploadTo: UploadTo<T> | undefined;
  readonly defaultName: string | undefined;
  readonly maxLength: number;
  readonly nullable: boolean;
  readonly deleteReplaced: boolean;
  private readonly storageRef: StorageRef | undefined;
  private readonly registry: StorageRegistry;
  private resolved: Storage | undefined;

  constructor(model: string, property: string, options: FileFieldOptions<T> = {}, registry: StorageRegistry = storages) {
    this.model = model;
    this.property = property;
    this.uploadTo = options.uploadTo;
    this.defaultName = options.default === undefined ? undefined : validateFileName(options.default);
    this.maxLength = options.maxLength ?? 100;
    this.nullable = options.nullable ?? true;
    this.deleteReplaced = options.deleteReplaced ?? true;
    this.storageRef = options.storage;
    this.registry = registry;
    if (!Number.isInteger(this.maxLength) || this.maxLength < 1) {
      throw new ConfigurationError(`${this.label}: maxLength must be a positive integer.`);
    }
  }

  /** `Model#property`, for messages. */
  get label(): string {
    return `${this.model}#${this.property}`;
  }

  /** The field's storage, resolved on first use (so storages may be registered after decorating). */
  get storage(): Storage {
    this.resolved ??= this.registry.get(this.storageRef);
    return this.resolved;
  }

  /**
   * Django's `FileField.generate_filename`: apply `uploadTo` (evaluated exactly once per call,
   * Django ticket #5655), validate, and let the storage clean the name.
   */
  generateFilename(instance: T, filename: string): string {
    validateFileName(filename);
    let name: string;
    if (typeof this.uploadTo === 'function') {
      name = this.uploadTo(instance, filename);
    } else if (typeof this.uploadTo === 'string' && this.uploadTo !== '') {
      name = joinName(strftime(this.uploadTo, new Date()), filename);
    } else {
      name = filename;
    }
    return this.storage.generateFilename(validateFileName(name));
  }

  /**
   * Check a name this field is about to store: safe (`validateFileName`), no longer than the
   * column (`maxLength` characters) and within the storage's limits. Returns it unchanged; throws
   * `SuspiciousFileOperation` or `FileNameTooLongError`, before anything is written.
   */
  assertStorable(name: string): string {
    validateFileName(name);
    if (name.length > this.maxLength) {
      throw new FileNameTooLongError(
        name,
        this.maxLength,
        'characters',
        `${this.label}: the file name ${JSON.stringify(name)} has ${name.length} characters but the column holds ${this.maxLength}; ` +
          'shorten it or raise maxLength (and migrate the column).',
      );
    }
    return this.storage.checkName(name);
  }

  /** Whether `name` is this field's default file (never deleted). */
  isDefault(name: string | null | undefined): boolean {
    return name != null && name === this.defaultName;
  }
}
