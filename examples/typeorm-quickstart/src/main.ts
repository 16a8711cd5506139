/**
 * @filefield/typeorm in five minutes: a SQLite database file, the S3 driver, and the
 * django-storages model doctest (../shared/seed/django-storages-s3.txt, "Model") step by step.
 *
 * S3: a real bucket when AWS_S3_ENDPOINT_URL and AWS_STORAGE_BUCKET_NAME are set (every AWS_*
 * setting is read by S3Storage.fromEnv()), otherwise s3rver started in-process on a temp dir.
 *
 *   npx tsc -b examples/typeorm-quickstart && node examples/typeorm-quickstart/dist/main.js
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ContentFile, type FieldFile, NoFileError, SuspiciousFileOperation, randomSuffix, storages } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { startS3rver } from '@filefield/s3/testing';
import { FileField, fileFieldLedgerEntities, installFileFields, reviveEntity } from '@filefield/typeorm';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';

// On Node 20 the AWS SDK warns, once, that its releases after January 2027 need Node 22. The quick
// start turns that off with the SDK's documented switch (it is read when the first client is made).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const randomDirectory = () => `random/${randomSuffix(6)}`;

@Entity('my_storage')
class MyStorage {
  @PrimaryGeneratedColumn() id!: number;
  // No `storage` option: these fields use the default storage registered below.
  @FileField({ uploadTo: 'tests' }) normal!: FieldFile;
  @FileField({ uploadTo: 'tests', default: 'tests/default.txt' }) default!: FieldFile;
  @FileField({ uploadTo: (_obj, filename) => `${randomDirectory()}/${filename}` }) random!: FieldFile;
}

const show = (file: FieldFile) => inspect(file);
const text = async (file: FieldFile, size?: number) => JSON.stringify((await file.read(size)).toString('utf8'));

async function openStorage(): Promise<{ storage: S3Storage; description: string; stop: () => Promise<void> }> {
  if (process.env.AWS_S3_ENDPOINT_URL && process.env.AWS_STORAGE_BUCKET_NAME) {
    // Like the doctest: unique names for a taken name, unless AWS_S3_FILE_OVERWRITE says otherwise.
    const overrides = process.env.AWS_S3_FILE_OVERWRITE === undefined ? { fileOverwrite: false } : {};
    const storage = S3Storage.fromEnv(process.env, overrides);
    return { storage, description: `bucket ${process.env.AWS_STORAGE_BUCKET_NAME} at ${process.env.AWS_S3_ENDPOINT_URL}`, stop: async () => {} };
  }
  const server = await startS3rver();
  const storage = new S3Storage(server.storageOptions({ fileOverwrite: false }));
  return { storage, description: `s3rver (in-process) at ${server.endpoint}, bucket ${server.bucket}`, stop: () => server.stop() };
}

const HOUR = 60 * 60 * 1000;

async function main(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'filefield-typeorm-quickstart-'));
  const { storage, description, stop } = await openStorage();
  storages.setDefault(storage);
  // The ledger's two tables come with the entities (or run FileFieldLedger1764547200000 as a migration).
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: join(directory, 'quickstart.sqlite'),
    entities: [MyStorage, ...fileFieldLedgerEntities],
    synchronize: true,
  });
  await dataSource.initialize();
  const fileFields = installFileFields(dataSource);
  const repository = dataSource.getRepository(MyStorage);
  const createdDefault = !(await storage.exists('tests/default.txt'));
  try {
    console.log(`database: SQLite file ${join(directory, 'quickstart.sqlite')}`);
    console.log(`storage:  S3 — ${description}\n`);
    if (createdDefault) await storage.save('tests/default.txt', new ContentFile('default content'));

    console.log('An object without a file has limited functionality:');
    const obj1 = new MyStorage();
    console.log(`  obj1.normal → ${show(obj1.normal)}`);
    try {
      await obj1.normal.size();
    } catch (error) {
      if (!(error instanceof NoFileError)) throw error;
      console.log(`  obj1.normal.size() → ${error.name} (${error.code}): ${error.message}`);
    }

    console.log('\nSaving a file enables full functionality (and inserts the row):');
    await obj1.normal.save('django_test.txt', new ContentFile('content'));
    console.log(`  obj1.normal → ${show(obj1.normal)}, row id ${obj1.id}`);
    console.log(`  size ${await obj1.normal.size()}, read() → ${await text(obj1.normal)}`);
    console.log(`  url → ${await obj1.normal.url()}`);

    console.log('\nFiles can be read a little at a time:');
    obj1.normal.open();
    console.log(`  read(3) → ${await text(obj1.normal, 3)}, read() → ${await text(obj1.normal)}`);
    const chunks: string[] = [];
    for await (const chunk of obj1.normal.chunks(2)) chunks.push(chunk.toString('utf8'));
    console.log(`  chunks(2) joined by '-' → ${JSON.stringify(chunks.join('-'))}`);
    await obj1.normal.close();

    console.log('\nAnother file with the same name gets a unique name:');
    const obj2 = new MyStorage();
    await obj2.normal.save('django_test.txt', new ContentFile('more content'));
    console.log(`  obj2.normal → ${show(obj2.normal)}, size ${await obj2.normal.size()}`);

    console.log('\nJSON round trip (the doctest\'s cache):');
    const cached = JSON.stringify(obj2);
    console.log(`  JSON.stringify(obj2) → ${cached}`);
    console.log(`  reviveEntity(MyStorage, json).normal → ${show(reviveEntity(MyStorage, cached).normal)}`);

    console.log('\nRemoving an object releases its file; after the commit the sweeper deletes it, if no other row uses it:');
    const obj2Name = obj2.normal.name!;
    await repository.remove(obj2);
    await fileFields.idle(); // the commit started a background sweep
    console.log(`  remove(obj2) → exists(${obj2Name}) = ${await storage.exists(obj2Name)}; obj1's file exists = ${await obj1.normal.exists()}`);
    await obj2.normal.save('django_test.txt', new ContentFile('more content'));
    console.log(`  obj2.normal.save(...) again → ${show(obj2.normal)} (inserted as row ${obj2.id})`);

    console.log('\nA file shared by two rows goes with the last one:');
    const sharer = await repository.save(Object.assign(new MyStorage(), { normal: obj2.normal.name }));
    await repository.remove(obj2);
    await fileFields.idle();
    console.log(`  remove(obj2) → ${sharer.normal.name} still exists: ${await sharer.normal.exists()}`);
    const sharedName = sharer.normal.name!;
    await repository.remove(sharer);
    await fileFields.idle();
    console.log(`  remove(sharer) → exists: ${await storage.exists(sharedName)}`);

    console.log('\nDefault values give an object a single file, never deleted:');
    let obj3 = await repository.save(repository.create());
    console.log(`  obj3.default → ${show(obj3.default)}, read() → ${await text(obj3.default)}`);
    await repository.remove(obj3);
    await fileFields.idle();
    obj3 = new MyStorage();
    console.log(`  after remove(obj3): new MyStorage().default.read() → ${await text(obj3.default)}`);

    console.log('\nThe random upload directory is computed once (Django #5655):');
    const obj4 = new MyStorage();
    await obj4.random.save('random_file', new ContentFile('random content'));
    console.log(`  obj4.random → ${show(obj4.random)}, read() → ${await text(obj4.random)}`);

    console.log('\nBad names are refused before anything is uploaded or saved:');
    const rowsBefore = await repository.count();
    try {
      await new MyStorage().normal.save('../../etc/passwd', new ContentFile('nope'));
    } catch (error) {
      if (!(error instanceof SuspiciousFileOperation)) throw error;
      console.log(`  save('../../etc/passwd') → ${error.code}: ${error.message}`);
      console.log(`  rows before ${rowsBefore}, after ${await repository.count()}`);
    }

    console.log('\nA transaction that rolls back deletes nothing; what it uploaded goes once the grace period is over:');
    let uploaded = '';
    try {
      await dataSource.transaction(async (manager) => {
        await manager.remove(obj1);
        const obj5 = manager.create(MyStorage);
        await obj5.normal.save('rolled_back.txt', new ContentFile('never committed'), { save: false });
        await manager.save(obj5);
        uploaded = obj5.normal.name!;
        throw new Error('roll back');
      });
    } catch (error) {
      if ((error as Error).message !== 'roll back') throw error;
    }
    await fileFields.sweep();
    console.log(`  obj1's file exists: ${await storage.exists('tests/django_test.txt')}; ${uploaded} exists: ${await storage.exists(uploaded)} (claimed for the grace period)`);
    await fileFields.sweep({ now: Date.now() + HOUR + 1 });
    console.log(`  a sweep one hour later (the default grace period): ${uploaded} exists: ${await storage.exists(uploaded)}`);

    console.log('\nClean up the temporary files:');
    const stored = await dataSource.getRepository(MyStorage).find();
    await repository.remove(stored);
    await fileFields.idle();
    if (createdDefault) await storage.delete('tests/default.txt');
    console.log(`  removed ${stored.length} rows; tests/ now holds ${JSON.stringify((await storage.listdir('tests')).files)}`);
  } finally {
    await fileFields.uninstall();
    await dataSource.destroy();
    await stop();
    await rm(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
