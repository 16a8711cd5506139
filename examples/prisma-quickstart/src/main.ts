/**
 * filefield + Prisma 7, walking the seed's Model scenario (django-storages' doctest) on a
 * SQLite file database and the S3 driver. The S3 server is s3rver, started in-process on a
 * temporary directory, unless AWS_S3_ENDPOINT_URL and AWS_STORAGE_BUCKET_NAME point at a real
 * one (then every AWS_* setting is read by S3Storage.fromEnv()).
 *
 *   npm ci && npm run start -w @filefield/example-prisma-quickstart
 *
 * Each step prints what happened; a step that does not behave as documented stops the run
 * with a non-zero exit code.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { ContentFile, type FieldFile, randomSuffix, type Storage } from '@filefield/core';
import { fileFields } from '@filefield/prisma';
import { S3Storage } from '@filefield/s3';
import { startS3rver } from '@filefield/s3/testing';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaClient } from './generated/client';

// On Node 20 the AWS SDK warns, once, that its releases after January 2027 need Node 22. The quick
// start turns that off with the SDK's documented switch (it is read when the first client is made).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MIGRATIONS = join(__dirname, '..', 'prisma', 'migrations');

async function openStorage(): Promise<{ storage: Storage; where: string; stop: () => Promise<void> }> {
  if (process.env.AWS_S3_ENDPOINT_URL && process.env.AWS_STORAGE_BUCKET_NAME) {
    const storage = S3Storage.fromEnv(process.env, { fileOverwrite: false, location: `quickstart-${randomSuffix(6)}` });
    return { storage, where: `S3 at ${process.env.AWS_S3_ENDPOINT_URL}`, stop: async () => undefined };
  }
  const server = await startS3rver();
  const storage = new S3Storage(server.storageOptions({ fileOverwrite: false }));
  return { storage, where: `embedded s3rver at ${server.endpoint}, bucket ${server.bucket}`, stop: () => server.stop() };
}

/** Create the tables from the checked-in migrations (what `prisma migrate deploy` would run). */
async function migrate(client: PrismaClient): Promise<void> {
  for (const migration of (await readdir(MIGRATIONS, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()) {
    const sql = await readFile(join(MIGRATIONS, migration, 'migration.sql'), 'utf8');
    for (const statement of sql.split(/;\s*$/m).map((part) => part.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean)) {
      await client.$executeRawUnsafe(statement);
    }
  }
}

async function text(file: FieldFile, size?: number): Promise<string> {
  return (await file.read(size)).toString('utf8');
}

async function main(): Promise<void> {
  const workdir = await mkdtemp(join(tmpdir(), 'filefield-prisma-quickstart-'));
  const { storage, where, stop } = await openStorage();
  let files: { idle(): Promise<void>; stop(): Promise<void> } | undefined;
  const base = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${join(workdir, 'quickstart.db')}` }) });
  try {
    await migrate(base);
    console.log(`SQLite database ${join(workdir, 'quickstart.db')}; files in ${where}\n`);
    const prisma = base.$extends(
      fileFields({
        myStorage: {
          normal: { uploadTo: 'tests', storage },
          default: { uploadTo: 'tests', default: 'tests/default.txt', storage },
          random: { uploadTo: (_row, filename) => `random-${randomSuffix()}/${filename}`, storage },
        },
      }),
    );
    // The ledger and the in-process sweeper: a commit that releases files starts a sweep, and
    // idle() waits for it (the examples check the storage right after each delete).
    files = prisma.$fileFields();
    const defaultName = await storage.save('tests/default.txt', new ContentFile('default content'));
    assert.equal(defaultName, 'tests/default.txt');

    console.log('An object without a file has limited functionality:');
    const obj1 = await prisma.myStorage.create({ data: {} });
    console.log(`  obj1.normal            ${inspect(obj1.normal)}`);
    const noFile = await obj1.normal.size().catch((error: Error) => error);
    assert.ok(noFile instanceof Error);
    console.log(`  obj1.normal.size()     ${noFile.name}: ${noFile.message}`);

    console.log('Saving a file uploads it, then updates the row:');
    await obj1.normal.save('django_test.txt', new ContentFile('content'));
    assert.equal(obj1.normal.name, 'tests/django_test.txt');
    const row1 = await base.myStorage.findUniqueOrThrow({ where: { id: obj1.id } });
    console.log(`  obj1.normal            ${inspect(obj1.normal)} (the row stores ${JSON.stringify(row1.normal)})`);
    console.log(`  obj1.normal.size()     ${await obj1.normal.size()}`);
    console.log(`  obj1.normal.read()     ${JSON.stringify(await text(obj1.normal))}`);
    console.log(`  obj1.normal.url()      ${await obj1.normal.url()}`);

    console.log('Files can be read a little at a time:');
    obj1.normal.open();
    const head = await text(obj1.normal, 3);
    const tail = await text(obj1.normal);
    const chunks: string[] = [];
    for await (const chunk of obj1.normal.chunks(2)) chunks.push(chunk.toString());
    assert.deepEqual([head, tail, chunks.join('-')], ['con', 'tent', 'co-nt-en-t']);
    console.log(`  read(3), read()        ${JSON.stringify(head)}, ${JSON.stringify(tail)}`);
    console.log(`  chunks(2) joined by -  ${JSON.stringify(chunks.join('-'))}`);

    console.log('Save another file with the same name:');
    let obj2 = await prisma.myStorage.create({ data: {} });
    await obj2.normal.save('django_test.txt', new ContentFile('more content'));
    assert.match(obj2.normal.name!, /^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
    console.log(`  obj2.normal            ${inspect(obj2.normal)}, size ${await obj2.normal.size()}`);

    console.log('Results serialise to names; revive() rebuilds the FieldFiles:');
    const cached = JSON.stringify(obj2);
    const revived = prisma.myStorage.revive(JSON.parse(cached) as { id: number; normal: string });
    assert.equal(revived.normal.name, obj2.normal.name);
    console.log(`  JSON                   ${cached}`);
    console.log(`  revived.normal         ${inspect(revived.normal)}`);

    console.log('Deleting an object releases its file; the sweeper deletes it after the commit, if no other object still uses it:');
    const obj2File = obj2.normal.name!;
    await prisma.myStorage.delete({ where: { id: obj2.id } });
    await files!.idle();
    assert.equal(await storage.exists(obj2File), false);
    assert.equal(await storage.exists('tests/django_test.txt'), true);
    console.log(`  after delete           ${obj2File} exists: false; tests/django_test.txt exists: true`);
    obj2 = await prisma.myStorage.create({ data: {} });
    await obj2.normal.save('django_test.txt', new ContentFile('more content'));
    console.log(`  a new obj2.normal      ${inspect(obj2.normal)}`);

    console.log('A file two rows share survives the first delete and goes with the last:');
    const sharer = await prisma.myStorage.create({ data: { normal: obj2.normal.name } });
    await prisma.myStorage.delete({ where: { id: obj2.id } });
    await files!.idle();
    assert.equal(await storage.exists(sharer.normal.name!), true);
    await prisma.myStorage.delete({ where: { id: sharer.id } });
    await files!.idle();
    assert.equal(await storage.exists(sharer.normal.name!), false);
    console.log(`  ${sharer.normal.name} kept after the first delete, deleted after the second`);

    console.log('Inside $transaction, files are deleted only after the commit:');
    const inTx = await prisma.myStorage.create({ data: {} });
    const txFile = await inTx.normal.save('transaction.txt', new ContentFile('tx'));
    await prisma
      .$transaction(async (tx) => {
        await tx.myStorage.delete({ where: { id: inTx.id } });
        throw new Error('rolled back on purpose');
      })
      .catch(() => undefined);
    assert.equal(await storage.exists(txFile), true);
    await prisma.$transaction(async (tx) => {
      await tx.myStorage.delete({ where: { id: inTx.id } });
      assert.equal(await storage.exists(txFile), true);
    });
    await files!.idle();
    assert.equal(await storage.exists(txFile), false);
    console.log(`  rolled back: ${txFile} kept; committed: deleted`);

    console.log('Default values allow an object to access a single file:');
    let obj3 = await prisma.myStorage.create({ data: {} });
    console.log(`  obj3.default           ${inspect(obj3.default)}, read() ${JSON.stringify(await text(obj3.default))}`);
    console.log("But it shouldn't be deleted, even if no more objects use it:");
    await prisma.myStorage.delete({ where: { id: obj3.id } });
    await files!.idle();
    obj3 = await prisma.myStorage.create({ data: {} });
    const stillThere = await text(obj3.default);
    assert.equal(stillThere, 'default content');
    console.log(`  after delete           ${inspect(obj3.default)} still reads ${JSON.stringify(stillThere)}`);

    console.log('The upload directory is determined once (Django ticket #5655):');
    const obj4 = await prisma.myStorage.create({ data: {} });
    await obj4.random.save('random_file', new ContentFile('random content'));
    assert.equal(await obj4.random.exists(), true);
    console.log(`  obj4.random            ${inspect(obj4.random)}`);

    console.log('Bad names are refused before anything is uploaded:');
    const refused = await obj4.normal.save('../escape.txt', new ContentFile('x')).catch((error: Error & { code?: string }) => error);
    assert.ok(refused instanceof Error);
    console.log(`  save('../escape.txt')  ${refused.name} (${(refused as { code?: string }).code}): ${refused.message}`);

    console.log('Clean up the files:');
    for (const file of [obj1.normal, obj4.random]) await file.delete();
    await prisma.myStorage.deleteMany({});
    await files!.idle();
    const left = (await storage.listdir('tests')).files;
    assert.deepEqual(left, ['default.txt']);
    console.log(`  left in tests/          ${JSON.stringify(left)} (the default file is never deleted)`);
    console.log('\nDone.');
  } finally {
    await files?.stop(); // (the extended client's $disconnect() stops it too)
    await base.$disconnect();
    await stop();
    await rm(workdir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
