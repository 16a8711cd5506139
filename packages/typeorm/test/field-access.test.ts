/**
 * The `@FileField` property and `FieldFile.save` on each database: what reading and assigning
 * give, that loading does no storage I/O, partial selects, JSON, bad names (typed error, row not
 * saved, nothing uploaded), `{ save: false }`, and wiring mistakes reported clearly.
 */
import { inspect } from 'node:util';
import { ContentFile, FieldFile, FileFieldError, FileNameTooLongError, MemoryStorage, SuspiciousFileOperation } from '@filefield/core';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { FileField, type FileFieldsInstallation, installFileFields, reviveEntity } from '../src';
import { CountingStorage } from './support/counting-storage';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

describeEachDatabase('file fields', (kind) => {
  let storage: CountingStorage;
  let model: Model;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;

  beforeAll(async () => {
    storage = new CountingStorage();
    model = defineModel(tablePrefix(), storage, new MemoryStorage());
    dataSource = await openDataSource(kind, model.entities);
    installation = installFileFields(dataSource);
  });

  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
  });

  test('reading always gives a FieldFile; assigning a name, a FieldFile or null works', () => {
    const document = new model.Document();
    expect(document.file).toBeInstanceOf(FieldFile);
    expect(document.file.name).toBeNull();
    expect(document.file).toBe(document.file);
    expect(document.cover.name).toBe('defaults/cover.txt');

    document.file = 'docs/a.txt' as never;
    expect(document.file).toBeInstanceOf(FieldFile);
    expect(document.file.name).toBe('docs/a.txt');
    expect(document.file.instance).toBe(document);

    const other = new model.Document();
    other.archive = 'archive/b.txt' as never;
    document.file = other.archive;
    expect(document.file.name).toBe('archive/b.txt');
    expect(document.file.instance).toBe(document);
    expect(document.file.field.property).toBe('file');

    document.file = null as never;
    expect(inspect(document.file)).toBe('<FieldFile: None>');
    document.cover = '' as never;
    expect(document.cover.name).toBeNull();
    expect(() => {
      document.file = 42 as never;
    }).toThrow(expect.objectContaining({ code: 'E_INVALID_VALUE' }));
  });

  test('a FieldFile from a field of another storage is refused', () => {
    const elsewhere = new model.OtherStorageDoc();
    elsewhere.file = 'x.txt' as never;
    const document = new model.Document();
    expect(() => {
      document.file = elsewhere.file;
    }).toThrow(expect.objectContaining({ code: 'E_OTHER_STORAGE' }));
  });

  test('loading rows does no storage I/O', async () => {
    for (let i = 0; i < 20; i += 1) {
      const document = new model.Document();
      await document.file.save(`load-${i}.txt`, new ContentFile(`row ${i}`), { save: false });
      await dataSource.manager.save(document);
    }
    const before = storage.total;
    const loaded = await dataSource.manager.find(model.Document);
    const names = loaded.map((document) => [document.file.name, document.archive.name, document.cover.name]);
    expect(names.filter(([file]) => file?.startsWith('docs/load-')).length).toBe(20);
    expect(JSON.stringify(loaded)).toContain('docs/load-0');
    expect(storage.total).toBe(before);
  });

  test('a column the query did not select reads as undefined and saving leaves it alone', async () => {
    const document = new model.Document();
    await document.file.save('partial.txt', new ContentFile('partial'));
    const partial = await dataSource.manager.findOneOrFail(model.Document, { where: { id: document.id }, select: { id: true, title: true } });
    expect(partial.file).toBeUndefined();
    partial.title = 'renamed';
    await dataSource.manager.save(partial);
    const row = await dataSource.manager.findOneByOrFail(model.Document, { id: document.id });
    expect(row.title).toBe('renamed');
    expect(row.file.name).toBe(document.file.name);
    expect(await storage.exists(document.file.name!)).toBe(true);
  });

  test('JSON.stringify gives the names and reviveEntity brings FieldFiles back', async () => {
    const document = new model.Document();
    await document.file.save('json.txt', new ContentFile('json'));
    const json = JSON.parse(JSON.stringify({ list: [document] })).list[0];
    expect(json).toMatchObject({ id: document.id, file: document.file.name, archive: null, cover: 'defaults/cover.txt' });
    const revived = reviveEntity(model.Document, json);
    expect(revived.file).toBeInstanceOf(FieldFile);
    expect((await revived.file.read()).toString()).toBe('json');
    // A revived entity saves like a loaded one (an UPDATE of the same row).
    revived.title = 'revived';
    await revived.archive.save('revived.txt', new ContentFile('r'));
    expect(await dataSource.manager.countBy(model.Document, { id: document.id, title: 'revived' })).toBe(1);
    expect(() => reviveEntity(model.Document, '[1]')).toThrow(FileFieldError);
  });

  test('save({ save: false }) only uploads; the row is written by the next save', async () => {
    const document = await dataSource.manager.save(new model.Document());
    await document.file.save('later.txt', new ContentFile('later'), { save: false });
    expect(await storage.exists(document.file.name!)).toBe(true);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id: document.id })).file.name).toBeNull();
    await dataSource.manager.save(document);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id: document.id })).file.name).toBe(document.file.name);
  });

  test('bad names: typed error, row not saved, nothing uploaded', async () => {
    const rowsBefore = await dataSource.manager.count(model.Document);
    const filesBefore = storage.names();
    const writesBefore = storage.calls.write;

    for (const bad of ['../escape.txt', '/etc/passwd', 'a\\b.txt', 'nul\u0000.txt', '']) {
      const document = new model.Document();
      await expect(document.file.save(bad, new ContentFile('x'))).rejects.toBeInstanceOf(SuspiciousFileOperation);
      expect(document.file.name).toBeNull();
    }

    const assigned = new model.Document();
    assigned.file = '../../etc/passwd' as never;
    await expect(dataSource.manager.save(assigned)).rejects.toBeInstanceOf(SuspiciousFileOperation);

    const tooLong = new model.Document();
    tooLong.file = `docs/${'x'.repeat(120)}.txt` as never;
    await expect(dataSource.manager.save(tooLong)).rejects.toBeInstanceOf(FileNameTooLongError);
    await expect(dataSource.manager.save(tooLong)).rejects.toThrow(/Document#file: the file name .* has 129 characters but the column holds 100/);

    expect(await dataSource.manager.count(model.Document)).toBe(rowsBefore);
    expect(storage.names()).toEqual(filesBefore);
    expect(storage.calls.write).toBe(writesBefore);
  });

  test('a long uploaded name is shortened to fit the column', async () => {
    const document = new model.Document();
    await document.file.save(`${'long'.repeat(40)}.txt`, new ContentFile('long'));
    expect(document.file.name!.length).toBeLessThanOrEqual(100);
    expect(document.file.name).toMatch(/^docs\/(long)+[A-Za-z0-9_]*\.txt$/);
    expect((await dataSource.manager.findOneByOrFail(model.Document, { id: document.id })).file.name).toBe(document.file.name);
  });

  test('the columns are varchar(maxLength), nullable, and indexed', async () => {
    const metadata = dataSource.getMetadata(model.Attachment);
    const column = metadata.findColumnWithPropertyName('blob')!;
    expect(column.databaseName).toBe('blob_name');
    expect(column.type).toBe('varchar');
    expect(column.length).toBe('255');
    expect(column.isNullable).toBe(true);
    const runner = dataSource.createQueryRunner();
    try {
      const table = await runner.getTable(metadata.tablePath);
      expect(table!.indices.some((index) => index.columnNames.includes('blob_name'))).toBe(true);
    } finally {
      await runner.release();
    }
  });
});

describe('wiring', () => {
  test('unknown options and bad maxLength are refused where they are written', () => {
    const storage = new MemoryStorage();
    expect(() => FileField({ storage, upload_to: 'x' } as never)).toThrow(/unknown option 'upload_to'/);
    expect(() => {
      class Broken {
        @FileField({ storage, maxLength: 0 }) file!: FieldFile;
      }
      return Broken;
    }).toThrow(/Broken#file: maxLength must be a positive integer/);
  });

  test('installFileFields needs an initialized DataSource, once; FieldFile.save needs an installation', async () => {
    const storage = new MemoryStorage();
    @Entity(`${tablePrefix()}_lonely`)
    class Lonely {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage }) file!: FieldFile;
    }
    const dataSource = await openDataSource('sqlite', [Lonely]);
    try {
      await expect(new Lonely().file.save('a.txt', 'a')).rejects.toThrow(/No DataSource with filefield installed knows Lonely/);
      expect(storage.names()).toEqual([]);
      const installation = installFileFields(dataSource);
      expect(() => installFileFields(dataSource)).toThrow(/already installed/);
      await new Lonely().file.save('a.txt', 'a');
      expect(storage.names()).toEqual(['a.txt']);
      await installation.uninstall();
    } finally {
      await closeDataSource(dataSource);
    }
    expect(() => installFileFields(new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [Lonely] }))).toThrow(/after `await dataSource.initialize\(\)`/);
  });

  test('a class field that hides the accessor (useDefineForClassFields) is reported at install', async () => {
    const storage = new MemoryStorage();
    @Entity(`${tablePrefix()}_shadowed`)
    class Shadowed {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage }) file!: FieldFile;
      constructor() {
        // What `file;` compiles to under useDefineForClassFields (the default for target ES2022+).
        Object.defineProperty(this, 'file', { value: undefined, writable: true, enumerable: true, configurable: true });
      }
    }
    const dataSource = await openDataSource('sqlite', [Shadowed]);
    try {
      expect(() => installFileFields(dataSource)).toThrow(/Shadowed#file: instances get an own 'file' property.*useDefineForClassFields/);
    } finally {
      await closeDataSource(dataSource);
    }
  });
});
