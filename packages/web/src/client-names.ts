/**
 * File names from clients (a multipart part's filename, a direct upload's request) go through the
 * core's name rules before anything is stored: an unsafe name (a path, `..`, control or bidi
 * characters, a backslash) is refused, a safe one cleaned with `getValidFileName` (Django's
 * `get_valid_filename`: spaces to underscores, punctuation dropped).
 */
import { SuspiciousFileOperation, getValidFileName, validateFileName } from '@filefield/core';
import { FileValidationError } from './errors';

/** The cleaned bare file name, or a `FileValidationError` (E_FILE_NAME) for `field`. */
export function clientFileName(filename: string | undefined, field: string): string {
  if (typeof filename !== 'string' || filename === '') {
    throw new FileValidationError('E_FILE_NAME', `The file in '${field}' has no file name.`, { field });
  }
  try {
    validateFileName(filename, { allowRelativePath: false });
    return getValidFileName(filename);
  } catch (error) {
    if (!(error instanceof SuspiciousFileOperation)) throw error;
    throw new FileValidationError('E_FILE_NAME', `The file name given for '${field}' is not allowed: ${error.message}`, { field, cause: error });
  }
}
