/**
 * The testing kit in a plain Node script: `await s3.stop()` finishes (the process does not exit
 * half-way through it) and leaves no directory behind.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');

function runScript(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', join(ROOT, 'test-support/workspace-aliases.js'), script], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: join(ROOT, 'test-support/tsconfig.child.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

it('startS3rver().stop() resolves in a plain script and removes its directory', async () => {
  const { code, stdout, stderr } = await runScript(join(__dirname, 'children/stop-s3rver.ts'));
  expect({ code, stdout: stdout.trim(), stderr: stderr.includes('Error') ? stderr : '' }).toEqual({ code: 0, stdout: 'STOPPED clean', stderr: '' });
}, 60_000);
