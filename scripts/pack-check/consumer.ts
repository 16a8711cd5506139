/**
 * The program scripts/pack-check.mjs compiles and runs in each temporary consumer app, against the
 * packed tarballs: as CommonJS and as ESM, on TypeORM 1.x and 0.3. It uses the four packages' public
 * entry points (and the /testing subpaths), so a missing file, a wrong `exports` or `typesVersions`
 * entry, or a declaration that does not type-check (skipLibCheck is off) fails the check.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, type FieldFile, FileNotFoundError, FileSystemStorage, MemoryStorage, Storage, storages } from '@filefield/core';
import type { StorageFactory } from '@filefield/core/testing';
import { fileFields, type FileFieldsConfig } from '@filefield/prisma';
import { S3Storage } from '@filefield/s3';
import { startS3rver } from '@filefield/s3/testing';
import { FileField, fileFieldLedgerEntities, installFileFields } from '@filefield/typeorm';
import { DirectUploads, FileSizeValidator, sniffContentType } from '@filefield/web';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('document')
class Document {
  @PrimaryGeneratedColumn() id!: number;
  @FileField({ uploadTo: 'docs' }) file!: FieldFile;
}

async function roundTrip(storage: Storage): Promise<void> {
  assert.ok(storage instanceof Storage);
  const name = await storage.save('hello.txt', new ContentFile('hello'));
  assert.equal((await storage.open(name).read()).toString('utf8'), 'hello');
  await storage.delete(name);
  assert.equal(await storage.exists(name), false);
  await assert.rejects(storage.size(name), FileNotFoundError);
}

/** Save, read, replace (the old file goes after the commit), a rollback (keeps the file), remove. */
async function typeormScenario(directory: string, storage: S3Storage): Promise<void> {
  storages.setDefault(storage);
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: join(directory, 'app.sqlite'),
    entities: [Document, ...fileFieldLedgerEntities],
    synchronize: true,
  });
  await dataSource.initialize();
  const files = installFileFields(dataSource);
  try {
    const repository = dataSource.getRepository(Document);
    const document = new Document();
    await document.file.save('first.txt', new ContentFile('first'));
    const first = document.file.name!;
    assert.equal(first, 'docs/first.txt');
    assert.equal(await storage.exists(first), true, 'the field uses the default storage set by the app');
    const loaded = await repository.findOneByOrFail({ id: document.id });
    assert.equal((await loaded.file.read()).toString('utf8'), 'first');

    await loaded.file.save('second.txt', new ContentFile('second'));
    const second = loaded.file.name!;
    await files.idle();
    assert.equal(await storage.exists(first), false, 'the replaced file is deleted after the commit');
    assert.equal(await storage.exists(second), true);

    await assert.rejects(
      dataSource.transaction(async (manager) => {
        await manager.remove(await manager.findOneByOrFail(Document, { id: document.id }));
        throw new Error('roll back');
      }),
      /roll back/,
    );
    await files.idle();
    await files.sweep();
    assert.equal(await storage.exists(second), true, 'a rolled-back remove keeps the file');

    await repository.remove(await repository.findOneByOrFail({ id: document.id }));
    await files.idle();
    assert.equal(await storage.exists(second), false, 'a removed row\'s file is deleted after the commit');
    assert.equal(await repository.count(), 0);
  } finally {
    await files.uninstall();
    await dataSource.destroy();
    storages.clear();
  }
}

async function main(): Promise<void> {
  // typeorm's `exports` do not include its package.json; the app runs in its own directory.
  const typeormVersion: string = JSON.parse(await readFile(join('node_modules', 'typeorm', 'package.json'), 'utf8')).version;
  const directory = await mkdtemp(join(tmpdir(), 'filefield-pack-consumer-'));
  const server = await startS3rver();
  try {
    await roundTrip(new MemoryStorage());
    await roundTrip(new FileSystemStorage({ location: join(directory, 'media') }));
    const s3 = new S3Storage(server.storageOptions());
    await roundTrip(s3);
    await typeormScenario(directory, s3);

    // Prisma: the extension is built (its types checked above); running it needs a generated client.
    const config: FileFieldsConfig = { document: { file: { uploadTo: 'docs' } } };
    assert.equal(typeof fileFields(config), 'function');
    const factory: StorageFactory | undefined = undefined;
    void factory;

    // Web: its dependencies load (magic-bytes.js, busboy, ...) and an S3 storage issues a direct-upload target.
    assert.equal(sniffContentType(Buffer.from('%PDF-1.7\n')), 'application/pdf');
    const target = await s3.createUploadTarget?.('direct.png', { maxSize: 10, expiresIn: 60 });
    assert.equal(target?.method, 'POST');
    assert.ok(new DirectUploads({ secret: 'x'.repeat(32), validators: [new FileSizeValidator({ maxSize: 10 })] }));
  } finally {
    await server.stop();
    await rm(directory, { recursive: true, force: true });
  }
  console.log(`consumer ok: memory, filesystem, S3 (s3rver), web and TypeORM ${typeormVersion} on SQLite`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
