/**
 * `npm start`'s job (examples/typeorm-quickstart) run twice as a user runs it, in a process of
 * its own with a private temporary directory: it exits 0 and leaves nothing behind.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../..');

function runQuickstart(temporary: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-r', join(ROOT, 'test-support/workspace-aliases.js'), join(ROOT, 'examples/typeorm-quickstart/src/main.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: temporary, TS_NODE_PROJECT: join(ROOT, 'test-support/tsconfig.child.json'), TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

it('the quickstart exits 0 twice and leaves nothing in the temporary directory', async () => {
  const temporary = await mkdtemp(join(tmpdir(), 'filefield-quickstart-check-'));
  try {
    for (let run = 0; run < 2; run += 1) {
      const { code, stderr } = await runQuickstart(temporary);
      expect({ run, code }).toEqual({ run, code: 0 });
      expect(stderr).not.toMatch(/Error/);
    }
    // ts-node's compile cache is this test's way of running TypeScript, not the quickstart's.
    const left = (await readdir(temporary)).filter((entry) => !entry.startsWith('v8-compile-cache'));
    expect(left).toEqual([]);
  } finally {
    await rm(temporary, { recursive: true, force: true });
  }
}, 180_000);
