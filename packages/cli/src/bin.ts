#!/usr/bin/env node
/** The `filefield` executable. Exits once the output is written (an app's pools may keep the process alive). */
import { run } from './program';

// A reader that stopped early (`filefield orphans | head`) is not a failure of the command.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

run(process.argv.slice(2)).then(
  (code) => {
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`filefield: ${String(error)}\n`, () => process.exit(1));
  },
);
