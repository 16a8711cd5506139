import { brand } from './brand';

/**
 * Every error filefield throws is a `FileFieldError` with a stable `code`, so callers can
 * branch on `err.code` (or `instanceof`) instead of parsing messages. Driver-native errors are
 * kept as `cause`; messages never contain credentials.
 */
export class FileFieldError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A name that could escape the storage or is otherwise unsafe (Django's SuspiciousFileOperation). */
export class SuspiciousFileOperation extends FileFieldError {
  constructor(message: string) {
    super('E_SUSPICIOUS_NAME', message);
  }
}

/** The named file does not exist in the storage. Every driver maps its native not-found to this. */
export class FileNotFoundError extends FileFieldError {
  readonly fileName: string;

  constructor(fileName: string, options?: { cause?: unknown }) {
    super('E_FILE_NOT_FOUND', `File '${fileName}' does not exist in the storage.`, options);
    this.fileName = fileName;
  }
}

/** An exclusive write found the name already taken (the storage kept the existing file). */
export class FileExistsError extends FileFieldError {
  readonly fileName: string;

  constructor(fileName: string, message?: string, options?: { cause?: unknown }) {
    super('E_FILE_EXISTS', message ?? `File '${fileName}' already exists in the storage.`, options);
    this.fileName = fileName;
  }
}

/** A FieldFile was used for I/O while no file is associated with it (Django's ValueError). */
export class NoFileError extends FileFieldError {
  constructor(fieldName: string) {
    super('E_NO_FILE', `The '${fieldName}' attribute has no file associated with it.`);
  }
}

/** Options or environment are wrong; the message names the setting to fix. */
export class ConfigurationError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_CONFIG', message, options);
  }
}

/** The storage refused the credentials or the operation (S3 403, fs EACCES). */
export class PermissionDeniedError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_PERMISSION_DENIED', message, options);
  }
}

/** The storage could not be reached or answered with a server error. */
export class StorageUnavailableError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_STORAGE_UNAVAILABLE', message, options);
  }
}

/**
 * The storage did not answer in time (connect or read timeout). A subclass of
 * StorageUnavailableError: code that retries on unavailability retries on this too.
 */
export class StorageTimeoutError extends StorageUnavailableError {
  override readonly code: string = 'E_STORAGE_TIMEOUT';
}

/**
 * The caller's AbortSignal fired: the operation stopped, and what it had started was undone
 * (a partial upload aborted, its socket released). `cause` is the signal's reason.
 */
export class OperationAbortedError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_ABORTED', message, options);
  }
}

/** A file object was used in a way its mode does not allow (read on 'w', write on 'r', use after close). */
export class FileModeError extends FileFieldError {
  constructor(message: string) {
    super('E_FILE_MODE', message);
  }
}

/**
 * A name is longer than where it must be stored: a column (`maxLength`, in characters) or the
 * storage's key limit (S3: 1024 bytes of UTF-8, the location prefix included). Nothing was written.
 */
export class FileNameTooLongError extends FileFieldError {
  readonly fileName: string;
  readonly limit: number;
  readonly unit: 'characters' | 'bytes';

  constructor(fileName: string, limit: number, unit: 'characters' | 'bytes', message: string) {
    super('E_NAME_TOO_LONG', message);
    this.fileName = fileName;
    this.limit = limit;
    this.unit = unit;
  }
}

/**
 * A row was given a file name that filefield is deleting or has deleted: its last reference was
 * removed and the sweeper found it unreferenced. The write is refused so that no committed row
 * names a missing file; save the content again under a new name.
 */
export class FileDeletedError extends FileFieldError {
  readonly fileName: string;

  constructor(fileName: string, storageId: string) {
    super(
      'E_FILE_DELETED',
      `File '${fileName}' (storage ${storageId}) was unreferenced and is being deleted or was deleted, so a row cannot name it any more. ` +
        'Upload the content again (FieldFile.save) to get a new name.',
    );
    this.fileName = fileName;
  }
}

/** filefield's ledger tables are missing or unusable; the message says which migration creates them. */
export class LedgerError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_LEDGER', message, options);
  }
}

// `instanceof` also accepts the errors of another loaded copy of the core (brand.ts): an S3 driver
// built on its own copy still throws a FileNotFoundError the app's copy recognises.
for (const [cls, name] of [
  [FileFieldError, 'FileFieldError'],
  [SuspiciousFileOperation, 'SuspiciousFileOperation'],
  [FileNotFoundError, 'FileNotFoundError'],
  [FileExistsError, 'FileExistsError'],
  [NoFileError, 'NoFileError'],
  [ConfigurationError, 'ConfigurationError'],
  [PermissionDeniedError, 'PermissionDeniedError'],
  [StorageUnavailableError, 'StorageUnavailableError'],
  [StorageTimeoutError, 'StorageTimeoutError'],
  [OperationAbortedError, 'OperationAbortedError'],
  [FileModeError, 'FileModeError'],
  [FileNameTooLongError, 'FileNameTooLongError'],
  [FileDeletedError, 'FileDeletedError'],
  [LedgerError, 'LedgerError'],
] as const) {
  brand(cls, name);
}
