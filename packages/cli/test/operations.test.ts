/**
 * What the README promises beyond sweep and orphans: check on a healthy S3 storage, storage
 * selection and its refusals, upload claims in `ledger status`, `sweep --watch --json` stopped by
 * SIGINT, and the progress bar on a terminal (only there).
 */
import { ContentFile } from '@filefield/core';
import { fixtureConfig, runCli, startCli } from './support/cli';
import { describeEachWorld, type TestWorld } from './support/worlds';

const TIMEOUT = 180_000;
const config = fixtureConfig('typeorm');

describeEachWorld('filefield operations', (open, kind) => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await open();
  }, TIMEOUT);
  afterAll(() => world?.close(), TIMEOUT);

  test('check: ok lines, and on S3 what the server does', async () => {
    const result = await runCli([...config, 'check'], { world: world.world });
    expect(result.code).toBe(0);
    const storageLine = `ok    storage  media (${world.storage.id}): reachable${kind === 'sqlite' ? '' : '; conditional writes: no, DeleteObjects: yes'}`;
    expect(result.stdout.split('\n')).toContain(storageLine);
  }, TIMEOUT);

  test('--storage: by name or id; an unknown one, or a configured storage no field uses, is exit 2', async () => {
    for (const name of ['media', world.storage.id]) {
      const result = await runCli([...config, 'ledger', 'status', '--storage', name], { world: world.world });
      expect(result.code).toBe(0);
    }
    const unknown = await runCli([...config, 'orphans', '--storage', 'nope'], { world: world.world });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe("filefield: UsageError: --storage: no storage 'nope' (known: media).");

    const stray = await runCli([...config, 'orphans'], { world: { ...world.world, strayStorage: true } });
    expect(stray.code).toBe(2);
    expect(stray.stdout).toBe('');
    expect(stray.stderr.trim()).toMatch(/^filefield: ConfigurationError: The config names storage 'stray' \(id instance:[^)]+\), which none of the app's file fields uses; the CLI only works on storages whose references it can check/);
  }, TIMEOUT);

  test("an app that registers its references on a registry of its own: sweep checks them there when open() passes it, and refuses otherwise", async () => {
    const kept = new world.Doc();
    await kept.file.save('own-registry-kept.txt', new ContentFile('still named by a row'));
    const removed = new world.Doc();
    const name = await removed.file.save('own-registry-removed.txt', new ContentFile('released'));
    await world.dataSource.manager.remove(removed);

    const withheld = await runCli([...config, 'sweep'], { world: { ...world.world, ownReferences: 'withheld' } });
    expect(withheld.code).toBe(2);
    expect(withheld.stderr.trim()).toMatch(/^filefield: ConfigurationError: The config's open\(\) installed no file fields .* return that registry from open\(\) as `references`\.$/);
    expect(await world.storage.exists(name)).toBe(true);

    const passed = await runCli([...config, 'sweep', '--json'], { world: { ...world.world, ownReferences: 'passed' } });
    expect(passed.code).toBe(0);
    const report = JSON.parse(passed.stdout);
    expect(report.failed).toBe(0);
    expect(report.deleted).toBeGreaterThanOrEqual(1);
    expect(await world.storage.exists(name)).toBe(false);
    expect(await world.storage.exists(kept.file.name!)).toBe(true);
  }, TIMEOUT);

  test('ledger status counts an upload whose row never committed as claimed', async () => {
    const doc = new world.Doc();
    await doc.file.save('claimed.txt', new ContentFile('uploaded, row not saved'), { save: false });
    const text = await runCli([...config, 'ledger', 'status'], { world: world.world });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^files: \d+ present \(1 claimed by uploads in progress\), 0 checking, 0 deleting, \d+ deleted \(tombstones\)$/m);
    const json = JSON.parse((await runCli([...config, 'ledger', 'status', '--json'], { world: world.world })).stdout);
    expect(json).toMatchObject({ dialect: kind === 'mariadb' ? 'mysql' : kind, claimed: 1, expiredClaims: 0, storages: [{ name: 'media', id: world.storage.id }] });
  }, TIMEOUT);

  test('sweep --watch --json prints a JSON line per sweep that did something and stops on SIGINT (exit 0)', async () => {
    const doc = new world.Doc();
    await doc.file.save('watched-json.txt', new ContentFile('removed while watched'));
    const watch = startCli([...config, 'sweep', '--watch', '--json', '--interval', '100ms'], { world: world.world });
    try {
      await watch.waitFor(/sweeping every 100ms/);
      await world.dataSource.manager.remove(doc);
      await watch.waitFor(/"deleted":1/);
      watch.child.kill('SIGINT');
      const result = await watch.exited;
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('stopped (SIGINT)');
      const line = JSON.parse(result.stdout.trim().split('\n')[0]);
      expect(line).toMatchObject({ deleted: 1, kept: 0, failed: 0 });
      expect(typeof line.at).toBe('string');
    } finally {
      watch.child.kill('SIGKILL');
    }
  }, TIMEOUT);

  test('sweep shows a progress bar on a terminal (and none when piped, as every other test checks)', async () => {
    const doc = new world.Doc();
    await doc.file.save('progress.txt', new ContentFile('swept on a terminal'));
    await world.dataSource.manager.remove(doc);
    const result = await runCli([...config, 'sweep'], { world: world.world, tty: true });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/sweeping .* files settled \(\d+ deleted, 0 failed\)/);
    expect(result.stdout).toMatch(/swept: 1 deleted, 0 kept, 0 failed/);
  }, TIMEOUT);
});
