/**
 * File fields on the entity shapes TypeORM users write: inherited from an abstract base class,
 * related entities built from plain objects (create with relations), copies made with
 * Object.assign — on each database.
 */
import { ContentFile, type FieldFile, MemoryStorage, fileKey } from '@filefield/core';
import { type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { FileField, type FileFieldsInstallation, installFileFields } from '../src';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

class FailingStorage extends MemoryStorage {
  protected override async deleteObject(name: string): Promise<void> {
    throw new Error(`cannot delete ${name} (simulated outage)`);
  }
}

describeEachDatabase('entity shapes', (kind) => {
  const storage = new MemoryStorage();
  const failing = new FailingStorage();
  const prefix = tablePrefix();

  abstract class Attachable {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage, uploadTo: 'inherited' }) attachment!: FieldFile;
  }

  @Entity(`${prefix}_invoice`)
  class Invoice extends Attachable {
    @FileField({ storage, uploadTo: 'pdf' }) pdf!: FieldFile;
  }

  @Entity(`${prefix}_fragile`)
  class Fragile {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage: failing }) file!: FieldFile;
  }

  let model: Model;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;

  beforeAll(async () => {
    model = defineModel(prefix, storage, new MemoryStorage());
    dataSource = await openDataSource(kind, [...model.entities, Invoice, Fragile]);
    installation = installFileFields(dataSource, { sweeper: false });
  });

  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
  });

  test('fields inherited from an abstract base class are columns, FieldFiles, and deleted with the row', async () => {
    const invoice = new Invoice();
    await invoice.attachment.save('terms.txt', new ContentFile('terms'), { save: false });
    await invoice.pdf.save('invoice.pdf', new ContentFile('%PDF'));
    const loaded = await dataSource.manager.findOneByOrFail(Invoice, { id: invoice.id });
    expect(loaded.attachment.name).toBe('inherited/terms.txt');
    expect(loaded.pdf.name).toBe('pdf/invoice.pdf');
    expect(JSON.parse(JSON.stringify(loaded))).toEqual({ id: invoice.id, attachment: 'inherited/terms.txt', pdf: 'pdf/invoice.pdf' });
    await dataSource.manager.remove(loaded);
    await installation.sweep();
    expect(await storage.exists('inherited/terms.txt')).toBe(false);
    expect(await storage.exists('pdf/invoice.pdf')).toBe(false);
  });

  test('related entities TypeORM builds from plain objects keep the names given', async () => {
    await storage.save('photos/given.jpg', 'given');
    const album = dataSource.manager.create(model.Album, { photos: [{ image: 'photos/given.jpg' as never }] });
    expect(album.photos[0].image.name).toBe('photos/given.jpg');
    await dataSource.manager.save(album);
    const photo = await dataSource.manager.findOneByOrFail(model.Photo, { id: album.photos[0].id });
    expect(photo.image.name).toBe('photos/given.jpg');
  });

  test('a copy made with Object.assign gets its own FieldFiles', async () => {
    const original = new model.Document();
    await original.file.save('copied.txt', new ContentFile('copied'));
    const loaded = await dataSource.manager.findOneByOrFail(model.Document, { id: original.id });
    const file = loaded.file;
    const copy = Object.assign(new model.Document(), loaded);
    expect(copy.file).not.toBe(file);
    expect(copy.file.instance).toBe(copy);
    expect(copy.file.name).toBe('docs/copied.txt');
    copy.file = 'docs/other.txt' as never;
    expect(loaded.file.name).toBe('docs/copied.txt');
    expect(loaded.file).toBe(file);
  });

  test('a storage failing to delete does not fail the commit; the sweep reports it and the ledger keeps the error', async () => {
    const fragile = new Fragile();
    await fragile.file.save('unlucky.txt', new ContentFile('x'));
    await expect(dataSource.manager.remove(fragile)).resolves.toBe(fragile);
    expect(await dataSource.manager.countBy(Fragile, {})).toBe(0);
    expect((await installation.sweep()).failed).toBe(1);
    expect(await failing.exists('unlucky.txt')).toBe(true);
    const [row] = await dataSource.query(`SELECT state, attempts, last_error FROM filefield_files WHERE file_key = '${fileKey(failing.id, 'unlucky.txt')}'`);
    expect(row).toEqual({ state: 'deleting', attempts: expect.anything(), last_error: expect.stringContaining('simulated outage') });
    expect(Number(row.attempts)).toBe(1);
  });
});

describe('uninstall', () => {
  test('restores the metadata methods and the subscriber list', async () => {
    const storage = new MemoryStorage();
    @Entity(`${tablePrefix()}_plain_again`)
    class PlainAgain {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage }) file!: FieldFile;
    }
    const dataSource = await openDataSource('sqlite', [PlainAgain]);
    try {
      const metadata = dataSource.getMetadata(PlainAgain);
      const column = metadata.findColumnWithPropertyName('file')!;
      const subscribers = dataSource.subscribers.length;
      const installation = installFileFields(dataSource);
      expect(Object.hasOwn(metadata, 'create')).toBe(true);
      expect(Object.hasOwn(column, 'setEntityValue')).toBe(true);
      expect(dataSource.subscribers.length).toBe(subscribers + 1);
      await installation.uninstall();
      expect(Object.hasOwn(metadata, 'create')).toBe(false);
      expect(Object.hasOwn(column, 'setEntityValue')).toBe(false);
      expect(dataSource.subscribers.length).toBe(subscribers);
      // Still usable without filefield's hooks: the accessor works on loaded rows.
      await dataSource.manager.save(Object.assign(new PlainAgain(), { file: 'a.txt' }));
      expect((await dataSource.manager.findOneByOrFail(PlainAgain, { file: 'a.txt' as never })).file.name).toBe('a.txt');
    } finally {
      await closeDataSource(dataSource);
    }
  });
});
