/**
 * TypeORM's write surface and the lifecycle, on each database, beyond the shared suite
 * (lifecycle.test.ts): what the sweeper deletes after which TypeORM calls, what it keeps
 * (deleteReplaced: false, soft-deleted rows, other storages), uploads in rolled-back transactions
 * and savepoints, entity-event cascades, and what TypeORM bypasses. The background sweeper is off:
 * each test sweeps, and moves the clock past the grace period where uploads must go.
 */
import { ContentFile, MemoryStorage, scanOrphans } from '@filefield/core';
import type { DataSource } from 'typeorm';
import { type FileFieldsInstallation, bindEntityManager, installFileFields } from '../src';
import { CountingStorage } from './support/counting-storage';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

class Rollback extends Error {}

async function rollingBack(work: () => Promise<void>): Promise<void> {
  await expect(work()).rejects.toBeInstanceOf(Rollback);
}

describeEachDatabase('deletion', (kind) => {
  let storage: CountingStorage;
  let model: Model;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;

  let now = Date.now();
  const GRACE = 60_000;
  /** Sweep now, or (`afterGrace`) as if the grace period were over. */
  const sweep = (afterGrace = false) => installation.sweep({ now: afterGrace ? now + GRACE + 1 : now });

  beforeAll(async () => {
    storage = new CountingStorage();
    model = defineModel(tablePrefix(), storage, new MemoryStorage());
    dataSource = await openDataSource(kind, model.entities);
    installation = installFileFields(dataSource, { sweeper: false, gracePeriod: GRACE, clock: () => now });
    await storage.save('defaults/cover.txt', 'the default cover');
  });

  beforeEach(() => {
    now = Date.now();
  });

  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
  });

  async function newDocument(fields: { file?: string; archive?: string; slug?: string } = {}) {
    const document = new model.Document();
    if (fields.slug) document.slug = fields.slug;
    if (fields.file) await document.file.save(fields.file, new ContentFile(`file ${fields.file}`), { save: false });
    if (fields.archive) await document.archive.save(fields.archive, new ContentFile(`archive ${fields.archive}`), { save: false });
    return dataSource.manager.save(document);
  }

  test('removing an entity deletes each of its files, but never the default file', async () => {
    const document = await newDocument({ file: 'a.txt', archive: 'b.txt' });
    const names = [document.file.name!, document.archive.name!];
    expect(document.cover.name).toBe('defaults/cover.txt');
    for (const name of names) expect(await storage.exists(name)).toBe(true);
    await dataSource.manager.remove(document);
    for (const name of names) expect(await storage.exists(name)).toBe(true); // released; the sweeper deletes
    await sweep();
    for (const name of names) expect(await storage.exists(name)).toBe(false);
    expect(await storage.exists('defaults/cover.txt')).toBe(true);
  });

  test('replacing a file and saving deletes the old one after commit; deleteReplaced: false keeps it', async () => {
    const document = await newDocument({ file: 'old.txt', archive: 'old-archive.txt' });
    const oldFile = document.file.name!;
    const oldArchive = document.archive.name!;
    await document.file.save('new.txt', new ContentFile('new'));
    await document.archive.save('new-archive.txt', new ContentFile('new archive'));
    await sweep();
    expect(await storage.exists(oldFile)).toBe(false);
    expect(await storage.exists(oldArchive)).toBe(true);
    const row = await dataSource.manager.findOneByOrFail(model.Document, { id: document.id });
    expect(row.file.name).toBe(document.file.name);
    expect(await row.file.read()).toEqual(Buffer.from('new'));

    // Assigning a name (or null) and saving replaces too.
    const replaced = document.file.name!;
    document.file = null as never;
    await dataSource.manager.save(document);
    await sweep();
    expect(await storage.exists(replaced)).toBe(false);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id: document.id })).file.name).toBeNull();
  });

  test('a name still used by another entity, column or soft-deleted row is kept', async () => {
    const document = await newDocument({ file: 'shared.txt' });
    const shared = document.file.name!;
    const attachment = await dataSource.manager.save(Object.assign(new model.Attachment(), { blob: shared }));
    const soft = await dataSource.manager.save(Object.assign(new model.SoftDoc(), { file: shared }));
    await dataSource.manager.softRemove(soft);

    await dataSource.manager.remove(document);
    await sweep();
    expect(await storage.exists(shared)).toBe(true);
    await dataSource.manager.remove(attachment);
    await sweep();
    expect(await storage.exists(shared)).toBe(true); // the soft-deleted row may be recovered
    await dataSource.manager.remove(await dataSource.manager.findOneOrFail(model.SoftDoc, { where: { id: soft.id }, withDeleted: true }));
    await sweep();
    expect(await storage.exists(shared)).toBe(false);
  });

  test('the same name in a column of another storage is not a reference', async () => {
    const document = await newDocument({ file: 'elsewhere.txt' });
    const name = document.file.name!;
    await dataSource.manager.save(Object.assign(new model.OtherStorageDoc(), { file: name }));
    await dataSource.manager.remove(document);
    await sweep();
    expect(await storage.exists(name)).toBe(false);
  });

  test('files are deleted only after the transaction commits', async () => {
    const document = await newDocument({ file: 'in-tx.txt' });
    const name = document.file.name!;
    let existedBeforeCommit: boolean | undefined;
    await dataSource.transaction(async (manager) => {
      await manager.remove(document);
      existedBeforeCommit = await storage.exists(name);
    });
    expect(existedBeforeCommit).toBe(true);
    await sweep();
    expect(await storage.exists(name)).toBe(false);
  });

  test('a rolled-back removal or replacement deletes nothing', async () => {
    const removed = await newDocument({ file: 'kept-on-rollback.txt' });
    const replaced = await newDocument({ file: 'kept-too.txt' });
    const names = [removed.file.name!, replaced.file.name!];
    await rollingBack(() =>
      dataSource.transaction(async (manager) => {
        await manager.remove(removed);
        replaced.file = 'somewhere/else.txt' as never;
        await manager.save(replaced);
        throw new Rollback();
      }),
    );
    await sweep(true);
    for (const name of names) expect(await storage.exists(name)).toBe(true);
    expect(await dataSource.manager.countBy(model.Document, { file: names[0] as never })).toBe(1);
  });

  test('a file uploaded by save() inside a transaction that rolls back is deleted after the grace period', async () => {
    const before = storage.names();
    let uploaded: string | null = null;
    await rollingBack(() =>
      dataSource.transaction(async (manager) => {
        const document = bindEntityManager(new model.Document(), manager);
        await document.file.save('rolled-back.txt', new ContentFile('never committed'));
        uploaded = document.file.name;
        expect(await storage.exists(uploaded!)).toBe(true);
        expect(await manager.countBy(model.Document, { id: document.id })).toBe(1);
        throw new Rollback();
      }),
    );
    expect(uploaded).toMatch(/^docs\/rolled-back/);
    await sweep();
    expect(await storage.exists(uploaded!)).toBe(true); // a retry of the transaction may still use it
    await sweep(true);
    expect(await storage.exists(uploaded!)).toBe(false);
    expect(storage.names()).toEqual(before);
    expect(await dataSource.manager.countBy(model.Document, { file: uploaded! as never })).toBe(0);
  });

  test('save({ save: false }) uploads that no committed row names are deleted after the grace period', async () => {
    let written: string | null = null;
    let unsaved: string | null = null;
    await rollingBack(() =>
      dataSource.transaction(async (manager) => {
        const document = manager.create(model.Document);
        await document.file.save('written.txt', new ContentFile('written to a row'), { save: false });
        await manager.save(document);
        written = document.file.name;
        const loose = new model.Document();
        await loose.file.save('loose.txt', new ContentFile('never written to a row'), { save: false });
        unsaved = loose.file.name;
        throw new Rollback();
      }),
    );
    await sweep();
    expect(await storage.exists(written!)).toBe(true);
    expect(await storage.exists(unsaved!)).toBe(true);
    // Unlike Django: each upload claimed its name first, so no upload is left behind for good.
    await sweep(true);
    expect(await storage.exists(written!)).toBe(false);
    expect(await storage.exists(unsaved!)).toBe(false);
  });

  test('an entity loaded in a transaction saves its files through that transaction', async () => {
    const existing = await newDocument({ file: 'loaded.txt' });
    const oldName = existing.file.name!;
    let newName: string | null = null;
    await rollingBack(() =>
      dataSource.transaction(async (manager) => {
        const loaded = await manager.findOneByOrFail(model.Document, { id: existing.id });
        await loaded.file.save('replacement.txt', new ContentFile('replacement'));
        newName = loaded.file.name;
        throw new Rollback();
      }),
    );
    // The UPDATE was part of the rolled-back transaction: the row and the old file are as before.
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id: existing.id })).file.name).toBe(oldName);
    await sweep(true);
    expect(await storage.exists(oldName)).toBe(true);
    expect(await storage.exists(newName!)).toBe(false);
  });

  test('save() whose row fails to save restores the name, and the upload goes to the sweeper at once', async () => {
    await newDocument({ slug: 'taken' });
    const document = new model.Document();
    document.slug = 'taken';
    const before = storage.names();
    await expect(document.file.save('duplicate.txt', new ContentFile('x'))).rejects.toThrow();
    expect(document.file.name).toBeNull();
    await sweep();
    expect(storage.names()).toEqual(before);
    expect(await dataSource.manager.countBy(model.Document, { slug: 'taken' })).toBe(1);
  });

  test('savepoints: a rolled-back nested transaction keeps its removals and drops its uploads', async () => {
    const first = await newDocument({ file: 'outer.txt' });
    const second = await newDocument({ file: 'inner.txt' });
    const [outerName, innerName, secondId] = [first.file.name!, second.file.name!, second.id];
    let innerUpload: string | null = null;
    await dataSource.transaction(async (manager) => {
      await manager.remove(first);
      await rollingBack(() =>
        manager.transaction(async (nested) => {
          await nested.remove(second);
          const fresh = bindEntityManager(new model.Document(), nested);
          await fresh.file.save('savepoint.txt', new ContentFile('inside the savepoint'));
          innerUpload = fresh.file.name;
          throw new Rollback();
        }),
      );
      // Nothing is deleted before the outer transaction commits.
      expect(await storage.exists(outerName)).toBe(true);
    });
    await sweep();
    expect(await storage.exists(outerName)).toBe(false);
    expect(await storage.exists(innerName)).toBe(true);
    // remove() cleared second.id in memory; the row itself came back with the savepoint.
    expect(await dataSource.manager.countBy(model.Document, { id: secondId })).toBe(1);
    await sweep(true);
    expect(await storage.exists(innerUpload!)).toBe(false);
  });

  test('savepoints: a released nested transaction deletes with the outer commit, and not at all on outer rollback', async () => {
    const a = await newDocument({ file: 'released-a.txt' });
    const b = await newDocument({ file: 'released-b.txt' });
    await rollingBack(() =>
      dataSource.transaction(async (manager) => {
        await manager.transaction((nested) => nested.remove(a));
        throw new Rollback();
      }),
    );
    await sweep();
    expect(await storage.exists(a.file.name!)).toBe(true);
    await dataSource.transaction(async (manager) => {
      await manager.transaction((nested) => nested.remove(b));
    });
    await sweep();
    expect(await storage.exists(b.file.name!)).toBe(false);
  });

  test('cascades TypeORM performs through entity events delete the children\'s files', async () => {
    const album = new model.Album();
    album.photos = [];
    for (const label of ['one', 'two']) {
      const photo = new model.Photo();
      await photo.image.save(`${label}.jpg`, new ContentFile(label), { save: false });
      album.photos.push(photo);
    }
    await dataSource.manager.save(album);
    const names = album.photos.map((photo) => photo.image.name!);
    const loaded = await dataSource.manager.findOneOrFail(model.Album, { where: { id: album.id }, relations: { photos: true } });
    await dataSource.manager.remove(loaded);
    expect(await dataSource.manager.countBy(model.Photo, {})).toBe(0);
    await sweep();
    for (const name of names) expect(await storage.exists(name)).toBe(false);
  });

  test('bypasses: delete(), QueryBuilder deletes and ON DELETE CASCADE release nothing (documented), with a warning; the orphan scan finds them', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const document = await newDocument({ file: 'bulk.txt' });
      await dataSource.getRepository(model.Document).delete({ id: document.id });
      await dataSource.createQueryBuilder().delete().from(model.Document).where('id = :id', { id: -1 }).execute();
      await sweep(true);
      expect(await storage.exists(document.file.name!)).toBe(true);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0][0])).toMatch(/Document were deleted with delete\(\)\/QueryBuilder.*Use remove\(\).*orphan scan/);

      const album = new model.Album();
      const photo = new model.Photo();
      await photo.image.save('cascaded-by-db.jpg', new ContentFile('db cascade'), { save: false });
      album.photos = [photo];
      await dataSource.manager.save(album);
      await dataSource.getRepository(model.Album).delete({ id: album.id });
      expect(await dataSource.manager.countBy(model.Photo, { id: photo.id })).toBe(0);
      await sweep(true);
      expect(await storage.exists(photo.image.name!)).toBe(true);
      const found = await scanOrphans(storage, installation.ledger, { now: now + GRACE + 1, olderThan: 0, delete: true });
      expect(found.sample).toEqual(expect.arrayContaining([document.file.name, photo.image.name]));
      await sweep(true);
      expect(await storage.exists(document.file.name!)).toBe(false);
      expect(await storage.exists(photo.image.name!)).toBe(false);
    } finally {
      warn.mockRestore();
    }
  });

  test('soft removal keeps the file; the hard removal afterwards deletes it', async () => {
    const soft = new model.SoftDoc();
    await soft.file.save('soft.txt', new ContentFile('soft'));
    await dataSource.manager.softRemove(soft);
    await sweep(true);
    expect(await storage.exists(soft.file.name!)).toBe(true);
    const deleted = await dataSource.manager.findOneOrFail(model.SoftDoc, { where: { id: soft.id }, withDeleted: true });
    await dataSource.manager.remove(deleted);
    await sweep();
    expect(await storage.exists(soft.file.name!)).toBe(false);
  });

  test('without a transaction ({ transaction: false }) the release commits with the change', async () => {
    const document = await newDocument({ file: 'autocommit.txt' });
    const name = document.file.name!;
    await dataSource.manager.remove(document, { transaction: false });
    await sweep();
    expect(await storage.exists(name)).toBe(false);
  });
});
