/**
 * Child processes for crash tests: a TypeScript script run with ts-node (transpile only), with
 * `@filefield/*` resolved to the workspace sources as Jest does, so `npm test` needs no build.
 * The child prints `READY <payload>` when it reached the point to be killed at; the test kills it
 * with SIGKILL there.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

export interface ReadyChild {
  /** What the child printed after READY. */
  payload: string;
  /** SIGKILL the child and wait until it is gone. */
  kill(): Promise<void>;
}

/** Start `script` with `env`, resolve when it prints READY (reject if it exits first or prints nothing for `timeoutMs`). */
export function runUntilReady(script: string, env: Record<string, string>, options: { timeoutMs?: number } = {}): Promise<ReadyChild> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', join(ROOT, 'test-support/workspace-aliases.js'), script], {
    cwd: ROOT,
    env: { ...process.env, ...env, TS_NODE_PROJECT: join(ROOT, 'test-support/tsconfig.child.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let output = '';
  let errors = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`The child ${script} printed no READY within ${options.timeoutMs ?? 60_000} ms. stderr:\n${errors}`));
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^READY (.*)$/m.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        payload: match[1].trim(),
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString('utf8');
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`The child ${script} exited (${code ?? signal}) before READY. stderr:\n${errors}`));
    });
  });
}
