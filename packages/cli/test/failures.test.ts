/**
 * What an operator sees when something is wrong: failed deletions (an unreachable storage),
 * wrong credentials, missing ledger tables, and `check` on a healthy app. One line per error,
 * exit 1 (or 2 for config mistakes), and never a secret, with or without --verbose.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile } from '@filefield/core';
import type { S3StorageOptions } from '@filefield/s3';
import { S3FaultProxy } from '@filefield/s3/testing';
import { describeWith, serviceUrls } from '../../../test-support/services';
import { fixtureConfig, runCli, startCli } from './support/cli';
import { openWorld, type TestWorld } from './support/worlds';

const TIMEOUT = 180_000;
const config = fixtureConfig('typeorm');
const FAKE_SECRET = 'FAKE-SECRET-KEY-9f2c71d0e4b8a6';
const DB_SECRET = 'wrong-db-password-5e1a9c';

/** A PostgreSQL × s3rver world and its S3 options (which the tests point elsewhere). */
async function openS3World(): Promise<{ world: TestWorld; options: S3StorageOptions }> {
  const world = await openWorld('postgres', 's3');
  if (world.world.storage.kind !== 's3') throw new Error('expected an S3 world');
  return { world, options: world.world.storage.options };
}

function expectNoSecret(...outputs: string[]): void {
  for (const output of outputs) {
    expect(output).not.toContain(FAKE_SECRET);
    expect(output).not.toContain(DB_SECRET);
  }
}

describe('check on a healthy app [sqlite × filesystem]', () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await openWorld('sqlite', 'filesystem');
  }, TIMEOUT);
  afterAll(() => world?.close(), TIMEOUT);

  test('one ok line for the config, the ledger and each storage; exit 0', async () => {
    const result = await runCli([...config, 'check'], { world: world.world });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `ok    config   ${config[1]}`,
      'ok    ledger   filefield_files, filefield_tasks (sqlite)',
      `ok    storage  media (${world.storage.id}): reachable`,
      '',
    ]);
  }, TIMEOUT);
});

describe('sweep --watch when the database fails under it [sqlite × filesystem]', () => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await openWorld('sqlite', 'filesystem');
  }, TIMEOUT);
  afterAll(() => world?.close(), TIMEOUT);

  test('a pass that fails ends --watch with exit 1 and the one-line error (a supervisor restarts it)', async () => {
    const watch = startCli([...config, 'sweep', '--watch', '--interval', '100ms'], { world: world.world });
    try {
      await watch.waitFor(/sweeping every 100ms/);
      await world.dataSource.query('DROP TABLE filefield_tasks');
      const result = await watch.exited;
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n').pop()).toMatch(/^filefield: LedgerError: filefield's ledger tables \(filefield_files, filefield_tasks\) are missing/);
    } finally {
      watch.child.kill('SIGKILL');
    }
  }, TIMEOUT);
});

describe('missing ledger tables [sqlite]', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'filefield-cli-empty-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('check fails the ledger line and sweep exits 1 with the one-line LedgerError', async () => {
    const world = { connection: { type: 'better-sqlite3', database: join(dir, 'empty.sqlite') }, prefix: 'ff_cli_empty', storage: { kind: 'filesystem' as const, location: join(dir, 'media') } };
    const check = await runCli([...config, 'check'], { world });
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^FAIL  ledger   LedgerError: filefield's ledger tables \(filefield_files, filefield_tasks\) are missing from this database\. Create them with/m);
    expect(check.stdout).toMatch(/^ok    storage  media /m);

    const sweep = await runCli([...config, 'sweep'], { world });
    expect(sweep.code).toBe(1);
    expect(sweep.stdout).toBe('');
    const lines = sweep.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^filefield: LedgerError: filefield's ledger tables \(filefield_files, filefield_tasks\) are missing/);
  }, TIMEOUT);
});

describeWith('postgres', 'failing deletions and a storage that cannot be reached [postgres × s3rver]', () => {
  let world: TestWorld;
  let options: S3StorageOptions;
  beforeAll(async () => {
    ({ world, options } = await openS3World());
  }, TIMEOUT);
  afterAll(() => world?.close(), TIMEOUT);

  test(
    'sweep exits 1 and reports the failure; ledger status lists the file with its attempts and error; no secret anywhere',
    async () => {
      const doc = new world.Doc();
      await doc.file.save('stuck.txt', new ContentFile('cannot be deleted yet'));
      const name = doc.file.name!;
      await world.dataSource.manager.remove(doc);
      // The same storage id, an endpoint nothing listens on, and a secret key that must not leak.
      const unreachable = world.withStorage({ kind: 's3', options: { ...options, endpointUrl: 'http://127.0.0.1:9', secretAccessKey: FAKE_SECRET, clientConfig: { maxAttempts: 1 } } });

      const sweep = await runCli([...config, 'sweep'], { world: unreachable });
      expect(sweep.code).toBe(1);
      expect(sweep.stdout.trim()).toMatch(/^swept: 0 deleted, 0 kept, 1 failed, 0 deferred/);
      expect(sweep.stderr.trim()).toBe('filefield: 1 deletion(s) failed; the sweeper retries them with backoff (`filefield ledger status` lists them).');
      expect(await world.storage.exists(name)).toBe(true);

      const status = await runCli([...config, 'ledger', 'status'], { world: world.world });
      expect(status.code).toBe(0);
      const lines = status.stdout.split('\n');
      expect(lines[0]).toBe(`ledger (postgres) for media (${world.storage.id})`);
      expect(lines).toContain('tasks: 0 due, 0 not due yet');
      expect(lines).toContain('failing deletions: 1');
      expect(status.stdout).toMatch(new RegExp(`^  media: ${name.replace('.', '\\.')} \\(1 attempt, next try \\d{4}-[\\d-]+T[\\d:.]+Z\\): StorageUnavailableError: `, 'm'));
      const json = JSON.parse((await runCli([...config, 'ledger', 'status', '--json'], { world: world.world })).stdout);
      expect(json.files.deleting).toBe(1);
      expect(json.failing).toMatchObject({ count: 1, files: [{ storageId: world.storage.id, name, attempts: 1 }] });

      const check = await runCli([...config, 'check', '--verbose'], { world: unreachable });
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/^ok    ledger   filefield_files, filefield_tasks \(postgres\)$/m);
      expect(check.stdout).toMatch(new RegExp(`^FAIL  storage  media \\(${world.storage.id}\\): StorageUnavailableError: `, 'm'));
      expectNoSecret(sweep.stdout, sweep.stderr, status.stdout, JSON.stringify(json), check.stdout, check.stderr);
    },
    TIMEOUT,
  );

  test('sweep --watch keeps going after a failed deletion (the sweeper retries it) and exits 0 on SIGTERM', async () => {
    const doc = new world.Doc();
    const name = await doc.file.save('watched-stuck.txt', new ContentFile('cannot be deleted while watched'));
    await world.dataSource.manager.remove(doc);
    const unreachable = world.withStorage({ kind: 's3', options: { ...options, endpointUrl: 'http://127.0.0.1:9', clientConfig: { maxAttempts: 1 } } });
    const watch = startCli([...config, 'sweep', '--watch', '--interval', '100ms'], { world: unreachable });
    try {
      // The earlier test's file may be due for its retry too: a sweep fails one or both.
      await watch.waitFor(/swept: 0 deleted, 0 kept, [12] failed/);
      watch.child.kill('SIGTERM');
      const result = await watch.exited;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('stopped (SIGTERM)');
      const status = JSON.parse((await runCli([...config, 'ledger', 'status', '--json'], { world: world.world })).stdout);
      expect(status.failing.files).toContainEqual(expect.objectContaining({ name }));
      expect(await world.storage.exists(name)).toBe(true);
    } finally {
      watch.child.kill('SIGKILL');
    }
  }, TIMEOUT);

  test('wrong S3 credentials: check fails the storage line, exit 1, the secret key never printed', async () => {
    const wrong = world.withStorage({ kind: 's3', options: { ...options, accessKeyId: 'AKIAWRONGKEY', secretAccessKey: FAKE_SECRET } });
    for (const args of [['check'], ['check', '--verbose']]) {
      const result = await runCli([...config, ...args], { world: wrong });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(new RegExp(`^FAIL  storage  media \\(${world.storage.id}\\): PermissionDeniedError: `, 'm'));
      expectNoSecret(result.stdout, result.stderr);
    }
  }, TIMEOUT);

  test('a database role that does not exist: exit 1, one line, the password in the URL never printed', async () => {
    const url = new URL(serviceUrls.postgres);
    url.username = 'filefield_cli_nobody';
    url.password = DB_SECRET;
    const bad = { ...world.world, connection: { type: 'postgres', url: url.toString() } };
    for (const args of [['sweep'], ['check', '--verbose']]) {
      const result = await runCli([...config, ...args], { world: bad });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^filefield: error: role "filefield_cli_nobody" does not exist$/m);
      if (!args.includes('--verbose')) expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expectNoSecret(result.stdout, result.stderr);
    }
  }, TIMEOUT);
});

describeWith('postgres', 'a second signal while a pass is held [postgres × s3rver]', () => {
  let world: TestWorld;
  let options: S3StorageOptions;
  let proxy: S3FaultProxy;
  beforeAll(async () => {
    ({ world, options } = await openS3World());
    proxy = await S3FaultProxy.start({ target: options.endpointUrl! });
  }, TIMEOUT);
  afterAll(async () => {
    await proxy?.stop();
    await world?.close();
  }, TIMEOUT);

  test('sweep --watch exits 130 at once, without waiting for the held deletion; the file stays, leased, for a later pass', async () => {
    const doc = new world.Doc();
    const name = await doc.file.save('held.txt', new ContentFile('deleted by a later pass'));
    await world.dataSource.manager.remove(doc);
    // DeleteObjects is a POST: the pass waits on it until the proxy is stopped.
    const held = proxy.inject({ match: { method: 'POST' }, fault: { kind: 'stall' } });
    const throughProxy = world.withStorage({ kind: 's3', options: { ...options, endpointUrl: proxy.endpoint } });
    const watch = startCli([...config, 'sweep', '--watch', '--interval', '100ms'], { world: throughProxy });
    try {
      await held.waitForHits(1, TIMEOUT);
      watch.child.kill('SIGTERM');
      await watch.waitFor(/SIGTERM: finishing the pass under way, then exiting/);
      watch.child.kill('SIGTERM');
      const result = await watch.exited;
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('SIGTERM again: exiting without finishing the pass');
      expect(result.stderr).not.toContain('stopped (SIGTERM)');
      expect(await world.storage.exists(name)).toBe(true);
      const status = JSON.parse((await runCli([...config, 'ledger', 'status', '--json'], { world: world.world })).stdout);
      expect(status.files.deleting).toBe(1);
    } finally {
      watch.child.kill('SIGKILL');
    }
  }, TIMEOUT);
});

describeWith('mariadb', 'wrong database credentials [mariadb]', () => {
  test('access denied: exit 1, one line, the password never printed', async () => {
    const url = new URL(serviceUrls.mariadb);
    url.password = DB_SECRET;
    const world = { connection: { type: 'mariadb', url: url.toString() }, prefix: 'ff_cli_denied', storage: { kind: 'filesystem' as const, location: join(tmpdir(), 'filefield-cli-unused') } };
    for (const args of [['check'], ['sweep', '--verbose']]) {
      const result = await runCli([...config, ...args], { world });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^filefield: \w+: Access denied for user 'root'@'[^']+' \(using password: YES\)$/m);
      expectNoSecret(result.stdout, result.stderr);
    }
  }, TIMEOUT);
});
