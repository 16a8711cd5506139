/**
 * What an upload or a download can be refused for, as typed errors with a stable `code` and the
 * HTTP status a handler answers with. `httpError` (http-errors.ts) turns any error into a JSON
 * body; messages name the form field, never a storage key, a path or a secret.
 */
import { FileFieldError } from '@filefield/core';

/** Why a file was refused, and the status it maps to. */
export type FileValidationCode =
  | 'E_FILE_TOO_LARGE' // 413
  | 'E_FILE_TOO_SMALL' // 400: empty, or under a minimum
  | 'E_FILE_EXTENSION' // 400
  | 'E_FILE_TYPE' // 415: the sniffed content type is not allowed
  | 'E_FILE_NAME' // 400: the client's file name is unsafe
  | 'E_TOO_MANY_FILES' // 400
  | 'E_UNEXPECTED_FILE' // 400: a file part for a field the handler does not take
  | 'E_MISSING_FILE' // 400: a required field had no file, or a direct upload never arrived
  | 'E_MALFORMED_UPLOAD'; // 400: not multipart, a broken body, too many parts or fields

const STATUS: Record<FileValidationCode, number> = {
  E_FILE_TOO_LARGE: 413,
  E_FILE_TOO_SMALL: 400,
  E_FILE_EXTENSION: 400,
  E_FILE_TYPE: 415,
  E_FILE_NAME: 400,
  E_TOO_MANY_FILES: 400,
  E_UNEXPECTED_FILE: 400,
  E_MISSING_FILE: 400,
  E_MALFORMED_UPLOAD: 400,
};

/** A file the application refuses (Django's ValidationError on a file field). */
export class FileValidationError extends FileFieldError {
  declare readonly code: FileValidationCode;
  /** The form field the file came in (or the model field of a direct upload). */
  readonly field: string | undefined;
  /** The HTTP status a handler answers with: 400, 413 or 415. */
  readonly status: number;

  constructor(code: FileValidationCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(code, message, { cause: options.cause });
    this.field = options.field;
    this.status = STATUS[code];
  }
}

/**
 * A direct-upload token that does not verify: forged, tampered with, expired, or issued for
 * another field, storage or subject. Answered with 403; the message says which, never the token.
 */
export class UploadTokenError extends FileFieldError {
  readonly status = 403;
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super('E_UPLOAD_TOKEN', message);
    this.field = field;
  }
}
