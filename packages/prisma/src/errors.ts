/**
 * Errors of the Prisma adapter: typed `FileFieldError`s with stable codes, like the core's.
 */
import { FileFieldError } from '@filefield/core';

/**
 * Create/update data gave a file column something other than a stored name (a string) or
 * null, e.g. a `ContentFile`: content is saved with `row.field.save(...)`.
 */
export class FileColumnValueError extends FileFieldError {
  constructor(label: string, received: string) {
    super(
      'E_FILE_COLUMN_VALUE',
      `${label}: create/update data takes a stored file name (a string) or null, not ${received} (for a FieldFile, pass file.name). ` +
        `To upload content, create the row, then call row.<field>.save(name, content): it uploads, then updates the row.`,
    );
  }
}

/** `FieldFile.save()` uploaded a file but its row is gone (deleted meanwhile); the upload went to the sweeper. */
export class RowNotFoundError extends FileFieldError {
  constructor(label: string, key: string, options?: { cause?: unknown }) {
    super('E_ROW_NOT_FOUND', `${label}: the row with ${key} no longer exists, so the saved file could not be attached to it (the sweeper deletes the upload).`, options);
  }
}
