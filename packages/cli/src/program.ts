/**
 * The `filefield` command line: commander parses, each command runs against the app's lifecycle
 * (or, for `ledger schema`, needs none), and `run()` turns the outcome into an exit code:
 * 0 ok, 1 something failed (a deletion, an unreachable database or storage), 2 the command or
 * the config is wrong. Errors print one line; `--verbose` adds stacks.
 */
import type { SqlDialect } from '@filefield/core';
import { Command, CommanderError, Option } from 'commander';
import { checkCommand } from './commands/check';
import { DIALECTS, ledgerSchemaCommand } from './commands/ledger-schema';
import { ledgerStatusCommand } from './commands/ledger-status';
import { orphansCommand } from './commands/orphans';
import { sweepCommand } from './commands/sweep';
import { parseDuration } from './duration';
import { warn } from './output';
import { describeError, exitCodeOf } from './report-error';
import { type SessionOptions, withSession } from './session';

interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

const DEFAULT_INTERVAL = '60s';

// package.json sits beside both src/ and dist/, outside rootDir: read at run time, not imported.
const { version } = require('../package.json') as { version: string };

function buildProgram(cwd: string, setExit: (code: number) => void): Command {
  const program = new Command('filefield')
    .description("filefield's file lifecycle from the command line: sweep released files, find orphans, inspect the ledger")
    .version(version)
    .option('-c, --config <file>', 'the config file (default: filefield.config.{ts,mts,cts,js,mjs,cjs} in the working directory)')
    .option('--verbose', 'print stack traces with errors')
    .exitOverride()
    .showHelpAfterError('(filefield --help lists the commands)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 something failed (a deletion, a database or storage), 2 a wrong command line or config.');

  const session = (command: Command): SessionOptions => ({ ...(command.optsWithGlobals() as GlobalOptions), cwd });

  program
    .command('sweep')
    .description('delete released files no row names, until nothing is due; print deleted/kept/failed')
    .option('--watch', 'keep sweeping every --interval until SIGINT or SIGTERM (the pass under way finishes)')
    .option('--interval <duration>', 'time between sweeps with --watch', DEFAULT_INTERVAL)
    .option('--json', 'print the report as JSON (with --watch: one JSON line per sweep that did something)')
    .action(async (options: { watch?: boolean; interval: string; json?: boolean }, command: Command) => {
      const interval = parseDuration(options.interval, '--interval');
      const globals = session(command);
      setExit(await withSession(globals, (lifecycle) => sweepCommand(lifecycle, { ...options, interval, verbose: globals.verbose })));
    });

  program
    .command('orphans')
    .description('list stored objects no row names and no upload claims (a dry run); --delete hands them to the sweeper')
    .option('--prefix <prefix>', 'only objects under this directory', '')
    .option('--older-than <duration>', "only objects older than this (default: the ledger's grace period)")
    .option('--storage <name>', 'only this storage (its config name or id)')
    .option('--delete', 'queue the orphans for deletion and sweep (a row that names one meanwhile keeps it)')
    .option('--json', 'print the reports as JSON (at most 1000 names per storage)')
    .action(async (options: { prefix: string; olderThan?: string; storage?: string; delete?: boolean; json?: boolean }, command: Command) => {
      const olderThan = options.olderThan === undefined ? undefined : parseDuration(options.olderThan, '--older-than');
      const globals = session(command);
      setExit(await withSession(globals, (lifecycle) => orphansCommand(lifecycle, { ...options, olderThan, verbose: globals.verbose })));
    });

  const ledger = program.command('ledger').description("the ledger tables (filefield_files, filefield_tasks)");
  ledger
    .command('status')
    .description('files by state, tasks due and not due, deletions that keep failing')
    .option('--storage <name>', 'only this storage (its config name or id)')
    .option('--json', 'print the status as JSON')
    .action(async (options: { storage?: string; json?: boolean }, command: Command) => {
      setExit(await withSession(session(command), (lifecycle) => ledgerStatusCommand(lifecycle, options)));
    });
  ledger
    .command('schema')
    .description('print the DDL of the ledger tables (no config needed)')
    .addOption(new Option('--dialect <dialect>', 'the database').choices([...DIALECTS, 'mariadb']).makeOptionMandatory())
    .action((options: { dialect: SqlDialect | 'mariadb' }) => {
      setExit(ledgerSchemaCommand(options.dialect === 'mariadb' ? 'mysql' : options.dialect));
    });

  program
    .command('check')
    .description('load the config and reach the ledger tables and every storage')
    .action(async (_options: object, command: Command) => {
      const globals = session(command);
      setExit(await withSession(globals, (lifecycle, path) => checkCommand(lifecycle, path, globals)));
    });
  return program;
}

/** Run the command line (`argv` without node and the script) and resolve to its exit code. */
export async function run(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  let code = 0;
  const program = buildProgram(cwd, (value) => {
    code = value;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its message (or the help) already.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    warn(describeError(error, argv.includes('--verbose')));
    return exitCodeOf(error);
  }
}
