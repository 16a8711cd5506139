/**
 * The CLI as a user runs it: a child process (src/bin.ts through ts-node, with @filefield/*
 * resolved to the workspace sources as in test-support/child-process.ts), its output and exit
 * code. Waits are bounded by output or exit, never by a fixed sleep.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { WORLD_VARIABLE, type World } from '../fixtures/world';

const ROOT = join(__dirname, '../../../..');
export const BIN = join(ROOT, 'packages/cli/src/bin.ts');
export const FIXTURES = join(__dirname, '../fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  world?: World;
  env?: Record<string, string>;
  /** Run under `script`, with a pseudo-terminal for stdin, stdout and stderr (all output then arrives on stdout). */
  tty?: boolean;
}

export interface RunningCli {
  child: ChildProcess;
  /** Resolves once stdout or stderr matches `pattern`; rejects if the process exits first. */
  waitFor(pattern: RegExp): Promise<void>;
  exited: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions = {}): RunningCli {
  const command = [process.execPath, '-r', require.resolve('ts-node/register/transpile-only'), '-r', join(ROOT, 'test-support/workspace-aliases.js'), BIN, ...args];
  const [file, ...argv] = options.tty ? ['script', '-qefc', command.map(shellQuote).join(' '), '/dev/null'] : command;
  const child = spawn(file, argv, {
    cwd: options.cwd ?? ROOT,
    env: {
      ...process.env,
      TS_NODE_PROJECT: join(ROOT, 'test-support/tsconfig.child.json'),
      TS_NODE_TRANSPILE_ONLY: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...(options.world ? { [WORLD_VARIABLE]: JSON.stringify(options.world) } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((listener) => listener());
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    changed();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    changed();
  });
  const exited = new Promise<CliResult>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return {
    child,
    exited,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout) || pattern.test(stderr)) {
            listeners.delete(check);
            resolve();
          }
        };
        listeners.add(check);
        check();
        void exited.then((result) => {
          if (listeners.has(check)) reject(new Error(`filefield ${args.join(' ')} exited (${result.code ?? result.signal}) before printing ${pattern}:\n${result.stdout}\n${result.stderr}`));
        });
      });
    },
  };
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** `--config` of a fixture config. */
export function fixtureConfig(name: 'typeorm' | 'prisma'): string[] {
  return ['--config', join(FIXTURES, `${name}.config.ts`)];
}
