/**
 * The seed's Model doctest (../shared/seed/django-storages-s3.txt, "Model"), step by step, on the
 * S3 driver (an in-process s3rver over HTTP) and on the filesystem driver, on each database.
 * The installation runs its default background sweeper: a commit that releases files starts a
 * pass, and `installation.idle()` waits for it, where Django deletes at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ContentFile, type FieldFile, FieldFile as FieldFileClass, FileSystemStorage, NoFileError, type Storage } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { startS3rver } from '@filefield/s3/testing';
import { type DataSource, Entity, PrimaryGeneratedColumn, type Repository } from 'typeorm';
import { FileField, type FileFieldsInstallation, installFileFields, reviveEntity } from '../src';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';

interface Driver {
  storage: Storage;
  stop(): Promise<void>;
}

const drivers: Record<'s3' | 'filesystem', () => Promise<Driver>> = {
  async s3() {
    const server = await startS3rver();
    // django-storages' test settings: unique names instead of overwriting.
    return { storage: new S3Storage(server.storageOptions({ fileOverwrite: false })), stop: () => server.stop() };
  },
  async filesystem() {
    const location = await mkdtemp(join(tmpdir(), 'filefield-typeorm-seed-'));
    const storage = new FileSystemStorage({ location, baseUrl: 'https://media.example.com/' });
    return { storage, stop: () => rm(location, { recursive: true, force: true }) };
  },
};

function defineModel(prefix: string, storage: Storage, uploadDirs: string[]) {
  @Entity(`${prefix}_my_storage`)
  class MyStorage {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ uploadTo: 'tests', storage }) normal!: FieldFile;
    @FileField({ uploadTo: 'tests', default: 'tests/default.txt', storage }) default!: FieldFile;
    @FileField({
      storage,
      uploadTo: (_obj, filename) => {
        const directory = `random/${uploadDirs.length}`;
        uploadDirs.push(directory);
        return `${directory}/${filename}`;
      },
    })
    random!: FieldFile;
  }
  return MyStorage;
}

async function text(file: FieldFile, size?: number): Promise<string> {
  return (await file.read(size)).toString('utf8');
}

describeEachDatabase('seed doctest: Model', (kind) => {
  describe.each(['s3', 'filesystem'] as const)('on the %s driver', (driverName) => {
    const uploadDirs: string[] = [];
    let driver: Driver;
    let storage: Storage;
    let dataSource: DataSource;
    let installation: FileFieldsInstallation;
    let MyStorage: ReturnType<typeof defineModel>;
    let repository: Repository<InstanceType<ReturnType<typeof defineModel>>>;
    let obj1: InstanceType<typeof MyStorage>;
    let obj2: InstanceType<typeof MyStorage>;

    beforeAll(async () => {
      driver = await drivers[driverName]();
      storage = driver.storage;
      MyStorage = defineModel(tablePrefix(), storage, uploadDirs);
      dataSource = await openDataSource(kind, [MyStorage]);
      installation = installFileFields(dataSource);
      repository = dataSource.getRepository(MyStorage);
      await storage.save('tests/default.txt', new ContentFile('default content'));
    });

    afterAll(async () => {
      await installation?.uninstall();
      await closeDataSource(dataSource);
      await driver?.stop();
    });

    test('an object without a file has limited functionality', async () => {
      obj1 = new MyStorage();
      expect(obj1.normal).toBeInstanceOf(FieldFileClass);
      expect(inspect(obj1.normal)).toBe('<FieldFile: None>');
      await expect(obj1.normal.size()).rejects.toThrow(NoFileError);
      await expect(obj1.normal.size()).rejects.toThrow("The 'normal' attribute has no file associated with it.");
    });

    test('saving a file enables full functionality (and saves the row)', async () => {
      await obj1.normal.save('django_test.txt', new ContentFile('content'));
      expect(inspect(obj1.normal)).toBe('<FieldFile: tests/django_test.txt>');
      expect(await obj1.normal.size()).toBe(7);
      expect(await text(obj1.normal)).toBe('content');
      expect(obj1.id).toEqual(expect.any(Number));
      const row = await repository.findOneByOrFail({ id: obj1.id });
      expect(row.normal.name).toBe('tests/django_test.txt');
    });

    test('files can be read in a little at a time', async () => {
      obj1.normal.open();
      expect(await text(obj1.normal, 3)).toBe('con');
      expect(await text(obj1.normal)).toBe('tent');
      const chunks: string[] = [];
      for await (const chunk of obj1.normal.chunks(2)) chunks.push(chunk.toString('utf8'));
      expect(chunks.join('-')).toBe('co-nt-en-t');
      await obj1.normal.close();
    });

    test('a URL serves the file', async () => {
      const url = await obj1.normal.url();
      if (driverName === 'filesystem') {
        expect(url).toBe('https://media.example.com/tests/django_test.txt');
      } else {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe('content');
      }
    });

    test('another file with the same name gets a unique name', async () => {
      obj2 = new MyStorage();
      await obj2.normal.save('django_test.txt', new ContentFile('more content'));
      expect(obj2.normal.name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
      expect(await obj2.normal.size()).toBe(12);
      expect(await text(obj1.normal)).toBe('content');
    });

    test('the objects survive a JSON round trip (the cache)', async () => {
      const cached = JSON.stringify(obj2);
      expect(JSON.parse(cached)).toEqual({ id: obj2.id, normal: obj2.normal.name, default: 'tests/default.txt', random: null });
      const restored = reviveEntity(MyStorage, cached);
      expect(restored).toBeInstanceOf(MyStorage);
      expect(restored.normal).toBeInstanceOf(FieldFileClass);
      expect(inspect(restored.normal)).toBe(`<FieldFile: ${obj2.normal.name}>`);
      expect(await text(restored.normal)).toBe('more content');
    });

    test('removing an object deletes the file it uses; another object keeps its own', async () => {
      const removedName = obj2.normal.name!;
      await repository.remove(obj2);
      await installation.idle();
      expect(await storage.exists(removedName)).toBe(false);
      expect(await storage.exists('tests/django_test.txt')).toBe(true);

      // The removed object can save a file again: it is inserted as a new row.
      await obj2.normal.save('django_test.txt', new ContentFile('more content'));
      expect(obj2.normal.name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
      expect(await repository.countBy({ id: obj2.id })).toBe(1);
    });

    test('a file shared by two rows survives the first removal and goes with the second', async () => {
      const sharer = await repository.save(Object.assign(new MyStorage(), { normal: obj1.normal.name }));
      const shared = obj1.normal.name!;
      await repository.remove(obj1);
      await installation.idle();
      expect(await storage.exists(shared)).toBe(true);
      await repository.remove(sharer);
      await installation.idle();
      expect(await storage.exists(shared)).toBe(false);
    });

    test('the default file is readable and survives removal', async () => {
      let obj3 = await repository.save(repository.create());
      expect(inspect(obj3.default)).toBe('<FieldFile: tests/default.txt>');
      expect(await text(obj3.default)).toBe('default content');
      expect((await repository.findOneByOrFail({ id: obj3.id })).default.name).toBe('tests/default.txt');
      await repository.remove(obj3);
      await installation.idle();
      obj3 = new MyStorage();
      expect(await text(obj3.default)).toBe('default content');
      expect(await storage.exists('tests/default.txt')).toBe(true);
    });

    test('the random upload directory is computed once (Django #5655)', async () => {
      const obj4 = new MyStorage();
      const before = uploadDirs.length;
      await obj4.random.save('random_file', new ContentFile('random content'));
      expect(uploadDirs.length).toBe(before + 1);
      expect(obj4.random.name).toBe(`${uploadDirs[before]}/random_file`);
      expect(await text(obj4.random)).toBe('random content');

      // Clean up the temporary files, as the doctest does.
      await obj4.random.delete();
      await obj2.normal.delete();
      await installation.idle();
      expect(await storage.exists(`${uploadDirs[before]}/random_file`)).toBe(false);
      expect((await repository.findOneByOrFail({ id: obj4.id })).random.name).toBeNull();
      expect(await storage.exists('tests/default.txt')).toBe(true);
    });
  });
});
