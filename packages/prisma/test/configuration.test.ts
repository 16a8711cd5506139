/**
 * Configuration mistakes fail when the extension is applied (`$extends`), with a
 * ConfigurationError that names what to fix: the types catch these at compile time
 * (types.test.ts); this covers JavaScript callers and casts.
 */
import { ConfigurationError, ContentFile, FileFieldDefinition, MemoryStorage, StorageUnavailableError } from '@filefield/core';
import { fileFields, type FileFieldsConfig } from '@filefield/prisma';
import { openDatabase, type TestDatabase } from './support/databases';

let db: TestDatabase;
const storage = new MemoryStorage();

beforeAll(async () => {
  db = await openDatabase('sqlite');
});
afterAll(() => db.close());

function extendWith(config: FileFieldsConfig, options: object = {}) {
  return () => db.client.$extends(fileFields(config as never, options));
}

it.each([
  [{ myStorag: { normal: { storage } } }, "'myStorag' is not a model of this Prisma client (models: myStorage, attachment)"],
  [{ myStorage: { normall: { storage } } }, "model MyStorage has no column 'normall' (columns: id, normal, default, random"],
  [{ myStorage: { id: { storage } } }, 'MyStorage#id must be a String column to hold file names (it is Int)'],
  [{ myStorage: { normal: { storage, maxLength: 0 } } }, 'MyStorage#normal: maxLength must be a positive integer'],
  [{ myStorage: { normal: { storage, default: '../outside.txt' } } }, 'path traversal'],
])('%j is refused: %s', (config, message) => {
  const error = (() => {
    try {
      extendWith(config)();
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toContain(message);
});

it('a model without an `id` column needs primaryKeys, named in the error', () => {
  expect(extendWith({ myStorage: { normal: { storage } } }, { primaryKeys: { myStorage: 'uuid' } })).toThrow(
    new ConfigurationError(
      "fileFields: model MyStorage has no 'uuid' column; name its single-column primary key with the primaryKeys option: { primaryKeys: { myStorage: '<column>' } }.",
    ),
  );
});

it('fileField() gives the definition; revive() rebuilds FieldFiles from JSON without I/O', () => {
  const prisma = db.client.$extends(fileFields({ myStorage: { normal: { storage, uploadTo: 'up' } } }));
  const definition = prisma.myStorage.fileField('normal');
  expect(definition).toBeInstanceOf(FileFieldDefinition);
  expect(definition.label).toBe('MyStorage#normal');
  expect(definition.storage).toBe(storage);
  const revived = prisma.myStorage.revive(JSON.parse('{"id":3,"normal":"up/a.txt","random":"x"}') as { id: number; normal: string; random: string });
  expect(revived.normal.name).toBe('up/a.txt');
  expect(revived.normal.field).toBe(definition);
  expect(revived.random).toBe('x');
  expect(JSON.stringify(revived)).toBe('{"id":3,"normal":"up/a.txt","random":"x"}');
});

it('a storage failure after the delete committed goes to onDeletionError; the delete itself succeeds', async () => {
  const flaky = new MemoryStorage();
  flaky.delete = async () => {
    throw new StorageUnavailableError('storage is down');
  };
  const reported: Array<{ message: string; names: string[] }> = [];
  const prisma = db.client.$extends(
    fileFields({ myStorage: { normal: { storage: flaky } } }, { onDeletionError: (error, { names }) => reported.push({ message: (error as Error).message, names }) }),
  );
  const row = await prisma.myStorage.create({ data: {} });
  const name = await row.normal.save('a.txt', new ContentFile('a'));
  await expect(prisma.myStorage.delete({ where: { id: row.id } })).resolves.toMatchObject({ id: row.id });
  expect(await db.client.myStorage.count({ where: { id: row.id } })).toBe(0);
  expect(reported).toEqual([{ message: 'storage is down', names: [name] }]);
  expect(await flaky.exists(name)).toBe(true);
});
