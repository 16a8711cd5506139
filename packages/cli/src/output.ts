/** Where commands write: results to stdout, progress and warnings to stderr. */
import { describeError } from './report-error';

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function warn(line: string): void {
  process.stderr.write(`filefield: ${line}\n`);
}

/** The sweeper's onError: one masked line per distinct message, as the in-process sweeper does. */
export function warnOncePerMessage(verbose: boolean): (error: unknown) => void {
  const seen = new Set<string>();
  return (error) => {
    const text = describeError(error, verbose);
    if (seen.has(text)) return;
    seen.add(text);
    warn(`a sweeper pass could not finish (it is retried): ${text}`);
  };
}
