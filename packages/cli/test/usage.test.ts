/** Commands that need no app: help, usage errors, config discovery failures, `ledger schema`. */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli';

const TIMEOUT = 120_000;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'filefield-cli-usage-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('--help lists every command and the exit codes', async () => {
  const result = await runCli(['--help']);
  expect(result.code).toBe(0);
  for (const command of ['sweep', 'orphans', 'ledger', 'check']) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  expect(result.stdout).toContain('Exit codes: 0 ok, 1 something failed');
}, TIMEOUT);

test('sweep --help: --watch, --interval (default 60s), --json', async () => {
  const result = await runCli(['sweep', '--help']);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('--watch');
  expect(result.stdout).toMatch(/--interval <duration>\s+time between sweeps with --watch \(default: "60s"\)/);
}, TIMEOUT);

test('an unknown command or option is a usage error: exit 2', async () => {
  const command = await runCli(['frobnicate']);
  expect(command.code).toBe(2);
  expect(command.stderr).toContain("unknown command 'frobnicate'");
  const option = await runCli(['sweep', '--bogus']);
  expect(option.code).toBe(2);
  expect(option.stderr).toContain("unknown option '--bogus'");
}, TIMEOUT);

test('no config in the working directory: exit 2 and what to create, no stack', async () => {
  const result = await runCli(['sweep'], { cwd: dir });
  expect(result.code).toBe(2);
  expect(result.stderr.trim()).toBe(
    `filefield: ConfigFileError: No filefield config in ${dir}: create filefield.config.ts (export default defineConfig({ open() { … } }) from @filefield/cli) or pass --config <file>.`,
  );
}, TIMEOUT);

test('a --config path that does not exist: exit 2, one line', async () => {
  const missing = join(dir, 'nope.config.ts');
  const result = await runCli(['check', '--config', missing]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim()).toBe(`filefield: ConfigFileError: --config: no file at ${missing}.`);
}, TIMEOUT);

test('a config that throws while loading, or exports the wrong shape: exit 2; --verbose adds the stack', async () => {
  const broken = join(dir, 'broken.config.ts');
  writeFileSync(broken, "const port: number = Number('x');\nthrow new Error(`cannot parse port ${port}`);\nexport default {};\n");
  const result = await runCli(['check', '--config', broken]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([`filefield: ConfigFileError: The config file ${broken} could not be loaded (Error: cannot parse port NaN).`]);
  const verbose = await runCli(['check', '--verbose', '--config', broken]);
  expect(verbose.code).toBe(2);
  expect(verbose.stderr).toMatch(/caused by: Error: cannot parse port NaN/);
  expect(verbose.stderr).toMatch(/\n\s+at /);

  const shapeless = join(dir, 'shapeless.config.mjs');
  writeFileSync(shapeless, 'export default { open() {}, sweep: {} };\n');
  const wrong = await runCli(['sweep', '--config', shapeless]);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr.trim()).toBe(`filefield: ConfigFileError: The config in ${shapeless} has unknown key(s) 'sweep' (known: open, sweeper).`);

  const misspelt = join(dir, 'misspelt.config.cjs');
  writeFileSync(misspelt, 'module.exports = { open() {}, sweeper: { batchsize: 10 } };\n');
  const option = await runCli(['sweep', '--config', misspelt]);
  expect(option.code).toBe(2);
  expect(option.stderr.trim()).toBe(
    `filefield: ConfigFileError: The config in ${misspelt}: unknown sweeper option(s) 'batchsize' (known: batchSize, leaseDuration, deleteTimeout, tombstoneRetention, retry, concurrency, lockTimeout).`,
  );

  const noLedger = join(dir, 'no-ledger.config.cjs');
  writeFileSync(noLedger, 'let closed = false;\nmodule.exports = { open: () => ({ close() { process.stderr.write("closed\\n"); } }) };\n');
  const empty = await runCli(['sweep', '--config', noLedger]);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toBe(
    "closed\nfilefield: ConfigurationError: The config's open() must resolve to { ledger, close }, with the installation's FileLedger (installFileFields(dataSource).ledger, prisma.$fileFields().ledger).\n",
  );
}, TIMEOUT);

test('bad durations are usage errors', async () => {
  const result = await runCli(['orphans', '--older-than', 'soon', '--config', join(dir, 'unused.ts')]);
  expect(result.code).toBe(2);
  expect(result.stderr.trim()).toBe("filefield: UsageError: --older-than: 'soon' is not a duration (examples: 500ms, 90s, 15m, 1h, 7d).");
}, TIMEOUT);

test.each(['sqlite', 'postgres', 'mysql', 'mariadb'])('ledger schema --dialect %s prints idempotent DDL', async (dialect) => {
  const result = await runCli(['ledger', 'schema', '--dialect', dialect]);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/CREATE TABLE IF NOT EXISTS filefield_files/);
  expect(result.stdout).toMatch(/CREATE TABLE IF NOT EXISTS filefield_tasks/);
  if (dialect === 'mysql' || dialect === 'mariadb') expect(result.stdout).toContain('ENGINE=InnoDB');
}, TIMEOUT);

test('ledger schema --dialect sqlite applies cleanly to a fresh database, twice', async () => {
  const result = await runCli(['ledger', 'schema', '--dialect', 'sqlite']);
  const db = new Database(join(dir, 'fresh.sqlite'));
  try {
    db.exec(result.stdout);
    db.exec(result.stdout);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>;
    expect(tables.map((table) => table.name)).toEqual(['filefield_files', 'filefield_tasks']);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'filefield_%' ORDER BY name").all() as Array<{ name: string }>;
    expect(indexes.map((index) => index.name)).toEqual(['filefield_files_claim_idx', 'filefield_files_lease_idx', 'filefield_tasks_due_idx', 'filefield_tasks_key_idx']);
  } finally {
    db.close();
  }
}, TIMEOUT);

test('ledger schema refuses an unknown dialect: exit 2', async () => {
  const result = await runCli(['ledger', 'schema', '--dialect', 'oracle']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("option '--dialect <dialect>' argument 'oracle' is invalid");
}, TIMEOUT);
