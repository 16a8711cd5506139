/**
 * Validators in the spirit of Django's (`FileExtensionValidator`, size limits), applied the same
 * way to a multipart part and to a direct upload. Each looks at a `FileFacts`: the client's name,
 * the first bytes and what they sniff as, and the size once it is known. Sizes are also enforced
 * while streaming: `limitsOf` gives the handler the smallest `maxSize`, and the upload stops at
 * its next byte. An empty file is always refused.
 */
import { splitName } from '@filefield/core';
import { FileValidationError } from './errors';

/** What validators see of one file. */
export interface FileFacts {
  /** The form field (or model field) the file is for. */
  field: string;
  /** The client's file name, after the name rules (client-names.ts). */
  filename: string;
  /** The first bytes (up to SNIFF_BYTES). */
  head: Buffer;
  /** The content types the head sniffs as (sniff.ts), most specific first. */
  sniffedTypes: string[];
  /** The size in bytes: known for a direct upload, undefined while a part is still streaming. */
  size: number | undefined;
}

/** A check on one file; throws `FileValidationError`. */
export interface FileValidator {
  /** The largest size this validator allows: a streaming upload stops at the byte after it. */
  readonly maxSize?: number;
  /** The smallest size this validator allows. */
  readonly minSize?: number;
  validate(file: FileFacts): void;
  /** A check of the client's file name alone, run before a direct upload is issued (so nothing is claimed for a name refused anyway). */
  validateName?(field: string, filename: string): void;
}

/** Django's FileExtensionValidator: the name's extension (case-insensitive) must be one of `allowed`. */
export class FileExtensionValidator implements FileValidator {
  readonly allowed: string[];

  constructor(allowed: string[]) {
    this.allowed = allowed.map((extension) => extension.replace(/^\./, '').toLowerCase());
  }

  validate(file: FileFacts): void {
    this.validateName(file.field, file.filename);
  }

  validateName(field: string, filename: string): void {
    const extension = splitName(filename).ext.replace(/^\./, '').toLowerCase();
    if (!this.allowed.includes(extension)) {
      throw new FileValidationError(
        'E_FILE_EXTENSION',
        `File extension '${extension}' is not allowed for '${field}'. Allowed extensions are: ${this.allowed.join(', ')}.`,
        { field },
      );
    }
  }
}

/** At most `maxSize` bytes (and at least `minSize`, default 1). Enforced while streaming too. */
export class FileSizeValidator implements FileValidator {
  readonly maxSize: number;
  readonly minSize: number;

  constructor(options: { maxSize: number; minSize?: number }) {
    const { maxSize, minSize = 1 } = options;
    if (!Number.isSafeInteger(maxSize) || !Number.isSafeInteger(minSize) || minSize < 0 || maxSize < minSize) {
      throw new RangeError(`FileSizeValidator needs integers 0 <= minSize <= maxSize, got ${minSize} and ${maxSize}.`);
    }
    this.maxSize = maxSize;
    this.minSize = minSize;
  }

  validate(file: FileFacts): void {
    if (file.size === undefined) return;
    if (file.size > this.maxSize) throw tooLarge(file.field, this.maxSize);
    if (file.size < this.minSize) {
      throw new FileValidationError('E_FILE_TOO_SMALL', `The file in '${file.field}' must be at least ${this.minSize} bytes.`, { field: file.field });
    }
  }
}

/**
 * The content type sniffed from the bytes must match one of `allowed` (`image/png`, or a family
 * such as `image/*`). What the client declares is ignored.
 */
export class ContentTypeValidator implements FileValidator {
  readonly allowed: string[];

  constructor(allowed: string[]) {
    this.allowed = allowed.map((type) => type.toLowerCase());
  }

  validate(file: FileFacts): void {
    const matches = (type: string) =>
      this.allowed.some((allowed) => (allowed.endsWith('/*') ? type.startsWith(allowed.slice(0, -1)) : type === allowed));
    if (!file.sniffedTypes.some(matches)) {
      throw new FileValidationError(
        'E_FILE_TYPE',
        `The file in '${file.field}' is ${file.sniffedTypes[0]}, which is not allowed. Allowed types are: ${this.allowed.join(', ')}.`,
        { field: file.field },
      );
    }
  }
}

/** Run every validator, the built-in empty-file check first. */
export function validateFile(validators: readonly FileValidator[], file: FileFacts): void {
  if (file.size === 0 || (file.size === undefined && file.head.length === 0)) {
    throw new FileValidationError('E_FILE_TOO_SMALL', `The file in '${file.field}' is empty.`, { field: file.field });
  }
  for (const validator of validators) validator.validate(file);
}

/** The size bounds all validators agree on: the smallest maxSize, the largest minSize (at least 1). */
export function limitsOf(validators: readonly FileValidator[]): { maxSize: number | undefined; minSize: number } {
  let maxSize: number | undefined;
  let minSize = 1;
  for (const validator of validators) {
    if (validator.maxSize !== undefined) maxSize = maxSize === undefined ? validator.maxSize : Math.min(maxSize, validator.maxSize);
    if (validator.minSize !== undefined) minSize = Math.max(minSize, validator.minSize);
  }
  return { maxSize, minSize };
}

export function tooLarge(field: string, maxSize: number): FileValidationError {
  return new FileValidationError('E_FILE_TOO_LARGE', `The file in '${field}' is larger than ${maxSize} bytes.`, { field });
}
