import { FileFieldError } from '@filefield/core';

/** A name assigned to a file field is longer than its column (`maxLength`); nothing was written. */
export class FileNameTooLongError extends FileFieldError {
  readonly fileName: string;
  readonly maxLength: number;

  constructor(label: string, fileName: string, maxLength: number) {
    super(
      'E_NAME_TOO_LONG',
      `${label}: the file name ${JSON.stringify(fileName)} has ${fileName.length} characters but the column holds ${maxLength}; ` +
        'shorten it or raise maxLength (and migrate the column).',
    );
    this.fileName = fileName;
    this.maxLength = maxLength;
  }
}
