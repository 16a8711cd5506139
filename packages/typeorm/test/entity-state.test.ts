/**
 * Entity state users can trust (issue 9): a file column is written only when the program changed
 * it. A stale entity or one built by hand never writes an old name over a newer one, and the names
 * released are the row's and the entity's own; typed assignment; entities of two DataSources.
 */
import { ContentFile, type FieldFile, MemoryStorage } from '@filefield/core';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { type FileFieldsInstallation, FileField, assignFile, installFileFields, reviveEntity } from '../src';
import { CountingStorage } from './support/counting-storage';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

describeEachDatabase('entity state', (kind) => {
  let storage: CountingStorage;
  let model: Model;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;

  beforeAll(async () => {
    storage = new CountingStorage();
    model = defineModel(tablePrefix(), storage, new MemoryStorage());
    dataSource = await openDataSource(kind, model.entities);
    installation = installFileFields(dataSource, { sweeper: false });
    await storage.save('defaults/cover.txt', 'the default cover');
  });

  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
  });

  const sweep = () => installation.sweep();
  const stored = async (id: number) => (await dataSource.manager.findOneByOrFail(model.Document, { id })).file.name;

  async function documentWith(name: string) {
    const document = new model.Document();
    await document.file.save(name, new ContentFile(name));
    return document;
  }

  test('a stale entity saved for another column writes no old name: nothing is lost [case 1]', async () => {
    const { id } = await documentWith('a.txt');
    const first = await dataSource.manager.findOneByOrFail(model.Document, { id });
    const second = await dataSource.manager.findOneByOrFail(model.Document, { id });
    const a = first.file.name!;
    const b = await first.file.save('b.txt', new ContentFile('b'));
    second.title = 'renamed';
    await dataSource.manager.save(second);
    expect(await stored(id)).toBe(b);
    expect(second.file.name).toBe(b); // the stale entity now holds what the row holds
    await sweep();
    expect(await storage.exists(b)).toBe(true);
    expect(await storage.exists(a)).toBe(false);
  });

  test('a stale entity that replaces its file releases the row\'s name and its own [case 1]', async () => {
    const { id } = await documentWith('c.txt');
    const first = await dataSource.manager.findOneByOrFail(model.Document, { id });
    const second = await dataSource.manager.findOneByOrFail(model.Document, { id });
    const c = first.file.name!;
    const d = await first.file.save('d.txt', new ContentFile('d'));
    const e = await second.file.save('e.txt', new ContentFile('e'));
    expect(await stored(id)).toBe(e);
    await sweep();
    expect(await storage.exists(e)).toBe(true);
    expect(await storage.exists(c)).toBe(false);
    expect(await storage.exists(d)).toBe(false); // no row names it any more
  });

  test('an entity TypeORM did not load leaves the file column alone unless assigned [case 2]', async () => {
    const { id, file } = await documentWith('kept.txt');
    const name = file.name!;
    const handMade = new model.Document();
    handMade.id = id;
    handMade.title = 'hand made';
    await dataSource.manager.save(handMade);
    expect(await stored(id)).toBe(name);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id })).cover.name).toBe('defaults/cover.txt');
    await sweep();
    expect(await storage.exists(name)).toBe(true);

    const assigned = new model.Document();
    assigned.id = id;
    assignFile(assigned, 'file', null);
    await dataSource.manager.save(assigned);
    expect(await stored(id)).toBeNull();
    await sweep();
    expect(await storage.exists(name)).toBe(false);
  });

  test('an entity revived from a partial JSON leaves the columns it lacks alone [case 2]', async () => {
    const { id, file } = await documentWith('revived.txt');
    const name = file.name!;
    const revived = reviveEntity(model.Document, JSON.stringify({ id, title: 'revived' }));
    expect(revived.file).toBeUndefined();
    await dataSource.manager.save(revived);
    expect(await stored(id)).toBe(name);
    const full = reviveEntity(model.Document, JSON.stringify(await dataSource.manager.findOneByOrFail(model.Document, { id })));
    full.title = 'again';
    await dataSource.manager.save(full);
    expect(await stored(id)).toBe(name);
    await sweep();
    expect(await storage.exists(name)).toBe(true);
  });

  test('upsert releases the names it replaces, in its transaction [case 4]', async () => {
    // Keyed on a unique column: TypeORM leaves a generated primary key out of an upsert's INSERT on PostgreSQL.
    const document = new model.Document();
    document.slug = 'upserted';
    await document.file.save('upserted.txt', new ContentFile('upserted'));
    const old = document.file.name!;
    const replacement = await storage.save('docs/upsert-new.txt', 'new');
    await dataSource.getRepository(model.Document).upsert({ slug: 'upserted', title: 'upserted', file: replacement } as never, ['slug']);
    expect(await stored(document.id)).toBe(replacement);
    await sweep();
    expect(await storage.exists(old)).toBe(false);
    expect(await storage.exists(replacement)).toBe(true);
    // An upsert that inserts releases nothing; one inside a transaction releases with it.
    const inserted = await storage.save('docs/upsert-insert.txt', 'i');
    await dataSource.transaction((manager) => manager.upsert(model.Document, { slug: 'upsert-inserted', file: inserted } as never, ['slug']));
    await sweep();
    expect(await storage.exists(inserted)).toBe(true);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { slug: 'upsert-inserted' })).file.name).toBe(inserted);
  });

  test('assignFile types the assignment: a name, a FieldFile or null [case 3]', async () => {
    const source = await documentWith('typed.txt');
    const target = new model.Document();
    assignFile(target, 'file', source.file);
    expect(target.file.name).toBe(source.file.name);
    assignFile(target, 'archive', 'archive/x.txt');
    expect(target.archive.name).toBe('archive/x.txt');
    // @ts-expect-error title is not a file field
    assignFile(target, 'title', 'x');
    target.file.name = null; // the other typed spelling
    expect(target.file.hasFile).toBe(false);
  });
});

describe('two installed DataSources [case 6]', () => {
  test('an entity loaded with plain find() saves through the DataSource it came from', async () => {
    const storage = new MemoryStorage();
    const prefix = tablePrefix();
    @Entity(`${prefix}_twice`)
    class Twice {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage }) file!: FieldFile;
    }
    const first = await openDataSource('sqlite', [Twice]);
    const second = await openDataSource('sqlite', [Twice]);
    const installations = [installFileFields(first, { sweeper: false }), installFileFields(second, { sweeper: false })];
    try {
      await first.manager.save(Object.assign(new Twice(), { id: 1 }));
      await second.manager.save(Object.assign(new Twice(), { id: 1 }));
      const fromSecond = await second.manager.findOneByOrFail(Twice, { id: 1 });
      await fromSecond.file.save('second.txt', new ContentFile('2'));
      expect((await second.manager.findOneByOrFail(Twice, { id: 1 })).file.name).toBe('second.txt');
      expect((await first.manager.findOneByOrFail(Twice, { id: 1 })).file.name).toBeNull();
      // A new entity still has to say which: there is no row to tell.
      await expect(new Twice().file.save('new.txt', new ContentFile('n'))).rejects.toThrow(/2 DataSources .* bindEntityManager/);
    } finally {
      for (const installation of installations) await installation.uninstall();
      await closeDataSource(first);
      await closeDataSource(second);
    }
  });
});
