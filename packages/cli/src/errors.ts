/**
 * The command line's own errors. Both end the command with exit code 2 (the command or its
 * config is wrong, so running it again will not help), as does the core's ConfigurationError.
 */
import { FileFieldError } from '@filefield/core';

/** A wrong command line: an unknown storage name, a bad duration, a missing argument. */
export class UsageError extends FileFieldError {
  constructor(message: string) {
    super('E_CLI_USAGE', message);
  }
}

/** No config file, one that does not load, or one of the wrong shape. */
export class ConfigFileError extends FileFieldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CLI_CONFIG', message, options);
  }
}
