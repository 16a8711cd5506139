/**
 * Configuration mistakes fail when the extension is applied (`$extends`), with a
 * ConfigurationError that names what to fix: the types catch these at compile time
 * (types.test.ts); this covers JavaScript callers and casts.
 */
import { ConfigurationError, ContentFile, FileFieldDefinition, MemoryStorage, ReferenceSources, StorageUnavailableError, fileKey, fileReferences } from '@filefield/core';
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
  [{ myStorag: { normal: { storage } } }, "'myStorag' is not a model of this Prisma client (models: myStorage, attachment, filefieldFile, filefieldTask)"],
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

it('fileField() gives the definition; revive() rebuilds FieldFiles from JSON without I/O', async () => {
  const prisma = db.client.$extends(fileFields({ myStorage: { normal: { storage, uploadTo: 'up' } } }));
  // $disconnect() on the extended client stops the sweeper and unregisters the reference source.
  const handle = prisma.$fileFields();
  expect(handle.sweeper).toBeDefined();
  expect(fileReferences.size).toBeGreaterThan(0);
  const definition = prisma.myStorage.fileField('normal');
  expect(definition).toBeInstanceOf(FileFieldDefinition);
  expect(definition.label).toBe('MyStorage#normal');
  expect(definition.storage).toBe(storage);
  const revived = prisma.myStorage.revive(JSON.parse('{"id":3,"normal":"up/a.txt","random":"x"}') as { id: number; normal: string; random: string });
  expect(revived.normal.name).toBe('up/a.txt');
  expect(revived.normal.field).toBe(definition);
  expect(revived.random).toBe('x');
  expect(JSON.stringify(revived)).toBe('{"id":3,"normal":"up/a.txt","random":"x"}');
  const sources = fileReferences.size;
  await handle.stop();
  expect(fileReferences.size).toBe(sources - 1);
});

it('a storage failure after the delete committed is the sweeper\'s: the delete succeeds, the sweep reports it and retries later', async () => {
  const flaky = new MemoryStorage();
  flaky.deleteMany = async (names) => ({ deleted: [], failed: [...names].map((name) => ({ name, error: new StorageUnavailableError('storage is down') })) });
  const prisma = db.client.$extends(fileFields({ myStorage: { normal: { storage: flaky } } }, { sweeper: false, references: new ReferenceSources() }));
  try {
    const row = await prisma.myStorage.create({ data: {} });
    const name = await row.normal.save('a.txt', new ContentFile('a'));
    await expect(prisma.myStorage.delete({ where: { id: row.id } })).resolves.toMatchObject({ id: row.id });
    expect(await db.client.myStorage.count({ where: { id: row.id } })).toBe(0);
    expect(await prisma.$fileFields().sweep()).toMatchObject({ failed: 1, deleted: 0 });
    expect(await flaky.exists(name)).toBe(true);
    const [ledgerRow] = (await db.client.$queryRawUnsafe(`SELECT state, last_error FROM filefield_files WHERE file_key = '${fileKey(flaky.id, name)}'`)) as Array<Record<string, unknown>>;
    expect(ledgerRow).toEqual({ state: 'deleting', last_error: 'StorageUnavailableError: storage is down' });
    expect(await prisma.$fileFields().sweep()).toMatchObject({ failed: 0 }); // backing off
  } finally {
    await prisma.$fileFields().stop();
  }
});
