/**
 * sweep and orphans against real databases and storages, through the TypeORM fixture config:
 * SQLite × filesystem, PostgreSQL × s3rver, MariaDB × s3rver.
 */
import { join } from 'node:path';
import { ContentFile } from '@filefield/core';
import { runUntilReady } from '../../../test-support/child-process';
import { fixtureConfig, runCli, startCli } from './support/cli';
import { describeEachWorld, type TestWorld } from './support/worlds';

const TIMEOUT = 180_000;
const HOUR = 3_600_000;
const config = fixtureConfig('typeorm');

describeEachWorld('filefield sweep and orphans', (open) => {
  let world: TestWorld;
  beforeAll(async () => {
    world = await open();
  }, TIMEOUT);
  afterAll(async () => {
    await world?.close();
  }, TIMEOUT);

  async function saveDoc(name: string, content: string) {
    const doc = new world.Doc();
    await doc.file.save(name, new ContentFile(content));
    return doc;
  }

  test(
    'orphans: a dry run lists only unreferenced objects older than the grace period and deletes nothing; --delete deletes just those',
    async () => {
      const kept = await saveDoc('kept.txt', 'a row names me');
      await world.storage.save('docs/orphan-old.txt', 'nobody names me');
      await world.storage.save('docs/orphan-new.txt', 'nobody names me yet');
      world.age(kept.file.name!, 2 * HOUR);
      world.age('docs/orphan-old.txt', 2 * HOUR);

      const dry = await runCli([...config, 'orphans'], { world: world.world });
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      expect(dry.stdout.split('\n')).toEqual([
        'would delete media: docs/orphan-old.txt',
        "media: 3 listed, 1 newer than 1h, 1 referenced, 0 claimed, 1 orphan",
        'dry run: nothing deleted (--delete hands the 1 orphan to the sweeper)',
        '',
      ]);
      const json = await runCli([...config, 'orphans', '--json', '--prefix', 'docs'], { world: world.world });
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({
        dryRun: true,
        olderThan: HOUR,
        prefix: 'docs',
        storages: [{ name: 'media', id: world.storage.id, scanned: 3, recent: 1, referenced: 1, claimed: 0, orphans: 1, queued: 0, sample: ['docs/orphan-old.txt'] }],
      });
      for (const name of [kept.file.name!, 'docs/orphan-old.txt', 'docs/orphan-new.txt']) expect(await world.storage.exists(name)).toBe(true);

      const deleted = await runCli([...config, 'orphans', '--delete'], { world: world.world });
      expect(deleted.code).toBe(0);
      expect(deleted.stdout).toContain('queued media: docs/orphan-old.txt');
      expect(deleted.stdout).toContain('swept: 1 deleted, 0 kept, 0 failed, 0 deferred');
      expect(await world.storage.exists('docs/orphan-old.txt')).toBe(false);
      expect(await world.storage.exists('docs/orphan-new.txt')).toBe(true);
      expect(await world.storage.exists(kept.file.name!)).toBe(true);

      // --older-than overrides the grace period: the new orphan goes too, the named file never.
      const all = await runCli([...config, 'orphans', '--delete', '--older-than', '0s', '--storage', 'media'], { world: world.world });
      expect(all.code).toBe(0);
      expect(all.stdout).toContain('swept: 1 deleted');
      expect(await world.storage.exists('docs/orphan-new.txt')).toBe(false);
      expect(await world.storage.exists(kept.file.name!)).toBe(true);
    },
    TIMEOUT,
  );

  test(
    'sweep deletes the file a remove() released in a process SIGKILLed before its sweeper ran',
    async () => {
      const doc = await saveDoc('released.txt', 'removed by a process that died');
      const name = doc.file.name!;
      const child = await runUntilReady(join(__dirname, 'children/remove-and-die.ts'), {
        FILEFIELD_CLI_WORLD: JSON.stringify(world.world),
        FILEFIELD_CLI_DOC: String(doc.id),
        // The fixture entity's column types come from decorator metadata (test-support's child tsconfig has it off).
        TS_NODE_COMPILER_OPTIONS: JSON.stringify({ emitDecoratorMetadata: true }),
      }, { timeoutMs: 120_000 });
      expect(child.payload).toBe(name);
      await child.kill();
      expect(await world.storage.exists(name)).toBe(true);

      const status = await runCli([...config, 'ledger', 'status', '--json'], { world: world.world });
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout).tasks).toEqual({ due: 1, notDue: 0 });

      const sweep = await runCli([...config, 'sweep'], { world: world.world });
      expect(sweep.stderr).toBe('');
      expect(sweep.stdout.trim()).toMatch(/^swept: 1 deleted, 0 kept, 0 failed, 0 deferred \(1 checked in \d+ pass(es)?\)$/);
      expect(sweep.code).toBe(0);
      expect(await world.storage.exists(name)).toBe(false);

      const again = await runCli([...config, 'sweep', '--json'], { world: world.world });
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ deleted: 0, kept: 0, failed: 0 });
    },
    TIMEOUT,
  );

  test(
    'sweep --watch deletes what is released while it runs and stops cleanly on SIGTERM (exit 0)',
    async () => {
      const doc = await saveDoc('watched.txt', 'removed while the sweeper watches');
      const name = doc.file.name!;
      const watch = startCli([...config, 'sweep', '--watch', '--interval', '200ms'], { world: world.world });
      try {
        await watch.waitFor(/sweeping every 200ms until SIGINT or SIGTERM/);
        await world.dataSource.manager.remove(doc);
        await watch.waitFor(/swept: 1 deleted/);
        expect(await world.storage.exists(name)).toBe(false);
        watch.child.kill('SIGTERM');
        const result = await watch.exited;
        expect(result.code).toBe(0);
        expect(result.stderr).toContain('SIGTERM: finishing the pass under way, then exiting');
        expect(result.stderr).toContain('stopped (SIGTERM)');
        expect(result.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z swept: 1 deleted, 0 kept, 0 failed/m);
      } finally {
        watch.child.kill('SIGKILL');
      }
    },
    TIMEOUT,
  );
});
