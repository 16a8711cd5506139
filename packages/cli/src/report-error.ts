/**
 * How a failed command reports: one line, the error's name and message (the first error of an
 * AggregateError, as Node gives for a refused connection on every address), and the stack with
 * the causes only under `--verbose`. filefield's errors never carry secrets; drivers' messages
 * may quote a connection string, so passwords in URLs and `password=` pairs are masked anyway.
 */
import { ConfigurationError } from '@filefield/core';
import { ConfigFileError, UsageError } from './errors';

/** Exit code 2: the command or the config is wrong; 1: something failed while running. */
export function exitCodeOf(error: unknown): 1 | 2 {
  return isNamed(error, UsageError) || isNamed(error, ConfigFileError) || isNamed(error, ConfigurationError) ? 2 : 1;
}

export function describeError(error: unknown, verbose = false): string {
  const line = mask(oneLine(error));
  if (!verbose) return line;
  const parts = [line];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current.stack) parts.push(mask(current.stack));
    current = current.cause ?? (current instanceof AggregateError ? current.errors[0] : undefined);
    if (current !== undefined) parts.push(`caused by: ${mask(oneLine(current))}`);
  }
  return parts.join('\n');
}

function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).replace(/\s+/g, ' ').trim();
  // Node's refused connection on every address: an AggregateError without a message of its own.
  if (!error.message && error instanceof AggregateError && error.errors.length > 0) return oneLine(error.errors[0]);
  let message = error.message;
  const code = (error as { code?: unknown }).code;
  if (!message && typeof code === 'string') message = code;
  message = message.replace(/\s+/g, ' ').trim();
  const name = error.name && error.name !== 'Error' ? error.name : typeof code === 'string' && !message.includes(code) ? code : 'Error';
  return `${name}: ${message.length > 600 ? `${message.slice(0, 600)}…` : message}`;
}

/** Passwords in `scheme://user:password@host` and `password=…` pairs. */
export function mask(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@\s/]+@/gi, '$1:***@').replace(/\b(password|passwd|pwd|secret[a-z_]*)=([^\s;&'"]+)/gi, '$1=***');
}

/** `instanceof` across copies of the core: by constructor name along the prototype chain. */
function isNamed(error: unknown, type: abstract new (...args: never[]) => Error): boolean {
  if (error instanceof type) return true;
  for (let proto = error && Object.getPrototypeOf(error); proto; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === type.name) return true;
  }
  return false;
}
