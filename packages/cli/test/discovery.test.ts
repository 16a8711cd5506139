/** Config discovery: filefield.config.<ext> in the working directory, default export or `config`. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, runCli } from './support/cli';
import { openWorld, type TestWorld } from './support/worlds';

const TIMEOUT = 180_000;

describe('config discovery [sqlite × filesystem]', () => {
  let world: TestWorld;
  let dir: string;
  beforeAll(async () => {
    world = await openWorld('sqlite', 'filesystem');
    dir = mkdtempSync(join(tmpdir(), 'filefield-cli-discovery-'));
  }, TIMEOUT);
  afterAll(async () => {
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT);

  const fixture = join(FIXTURES, 'typeorm.config.ts');
  // A CommonJS config's own require() is Node's: in the tests, ts-node's (registered for the CLI's
  // sources) compiles the fixture, with the decorator metadata its entity needs.
  const tsNode = { TS_NODE_COMPILER_OPTIONS: JSON.stringify({ emitDecoratorMetadata: true }) };
  test.each([
    ['filefield.config.ts', `export { default } from ${JSON.stringify(fixture.replace(/\.ts$/, ''))};\n`, {}],
    ['filefield.config.mjs', `import fixture from ${JSON.stringify(fixture)};\nexport const config = fixture;\n`, {}],
    ['filefield.config.cjs', `module.exports = require(${JSON.stringify(fixture)}).default;\n`, tsNode],
  ])('%s in the working directory is found and loaded', async (file, source, env) => {
    const cwd = mkdtempSync(join(dir, 'app-'));
    writeFileSync(join(cwd, file), source);
    const result = await runCli(['ledger', 'status'], { cwd, world: world.world, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`ledger (sqlite) for media (${world.storage.id})`);
  }, TIMEOUT);

  test('--config wins over a file in the working directory', async () => {
    const cwd = mkdtempSync(join(dir, 'app-'));
    writeFileSync(join(cwd, 'filefield.config.cjs'), "throw new Error('not this one');\n");
    const result = await runCli(['--config', fixture, 'ledger', 'status'], { cwd, world: world.world });
    expect(result.code).toBe(0);
  }, TIMEOUT);
});
