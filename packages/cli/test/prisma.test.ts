/**
 * A Prisma app (SQLite, the filesystem storage) through fixtures/prisma.config.ts: sweep deletes
 * what a `delete` released, orphans finds what raw SQL left, check passes.
 */
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, FileSystemStorage } from '@filefield/core';
import { fileFields } from '@filefield/prisma';
import { clientFor, migrationStatements } from '../../prisma/test/support/databases';
import type { World } from './fixtures/world';
import { fixtureConfig, runCli } from './support/cli';

const TIMEOUT = 180_000;
const config = fixtureConfig('prisma');

describe('filefield on a Prisma app [sqlite × filesystem]', () => {
  let dir: string;
  let world: World;
  let storage: FileSystemStorage;
  let prisma: ReturnType<typeof extend>;

  function extend() {
    return clientFor('sqlite', String(world.connection.url)).$extends(fileFields({ myStorage: { normal: { uploadTo: 'tests', storage } } }, { sweeper: false }));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'filefield-cli-prisma-'));
    world = { connection: { url: `file:${join(dir, 'app.db')}` }, prefix: '', storage: { kind: 'filesystem', location: join(dir, 'media') } };
    storage = new FileSystemStorage({ location: join(dir, 'media') });
    prisma = extend();
    for (const statement of migrationStatements('sqlite')) await prisma.$executeRawUnsafe(statement);
  }, TIMEOUT);
  afterAll(async () => {
    await prisma?.$disconnect();
    rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT);

  test('check, sweep after a delete, orphans after a raw SQL delete', async () => {
    const check = await runCli([...config, 'check'], { world });
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('ok    ledger   filefield_files, filefield_tasks (sqlite)');

    const released = await prisma.myStorage.create({ data: {} });
    await released.normal.save('released.txt', new ContentFile('deleted through Prisma'));
    const bypassed = await prisma.myStorage.create({ data: {} });
    await bypassed.normal.save('bypassed.txt', new ContentFile('deleted behind the extension'));
    const kept = await prisma.myStorage.create({ data: {} });
    await kept.normal.save('kept.txt', new ContentFile('still named'));
    await prisma.myStorage.delete({ where: { id: released.id } });
    await prisma.$executeRawUnsafe('DELETE FROM ff_prisma_my_storage WHERE id = ?', bypassed.id);

    const sweep = await runCli([...config, 'sweep', '--json'], { world });
    expect(sweep.code).toBe(0);
    expect(JSON.parse(sweep.stdout)).toMatchObject({ deleted: 1, kept: 0, failed: 0 });
    expect(await storage.exists(released.normal.name!)).toBe(false);

    const hourAgo = new Date(Date.now() - 2 * 3_600_000);
    for (const row of [bypassed, kept]) utimesSync(join(dir, 'media', row.normal.name!), hourAgo, hourAgo);
    const orphans = await runCli([...config, 'orphans', '--delete'], { world });
    expect(orphans.code).toBe(0);
    expect(orphans.stdout).toContain(`queued ${storage.id}: ${bypassed.normal.name}`);
    expect(orphans.stdout).toContain('swept: 1 deleted, 0 kept, 0 failed');
    expect(await storage.exists(bypassed.normal.name!)).toBe(false);
    expect(await storage.exists(kept.normal.name!)).toBe(true);
  }, TIMEOUT);
});
