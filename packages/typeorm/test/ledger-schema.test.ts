/**
 * The two ways TypeORM users create the ledger tables give a working ledger: the entities
 * (`fileFieldLedgerEntities` with synchronize) and the migration (up, down, up again).
 */
import { ContentFile, type FieldFile, LedgerError, MemoryStorage } from '@filefield/core';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { FileField, FileFieldLedger1764547200000, fileFieldLedgerEntities, installFileFields } from '../src';

const storage = new MemoryStorage();

@Entity('ff_typeorm_ledger_doc')
class LedgerDoc {
  @PrimaryGeneratedColumn() id!: number;
  @FileField({ storage }) file!: FieldFile;
}

async function roundTrip(dataSource: DataSource): Promise<void> {
  const installation = installFileFields(dataSource, { sweeper: false });
  try {
    const doc = new LedgerDoc();
    await doc.file.save('ledger.txt', new ContentFile('ledger'));
    await dataSource.manager.remove(doc);
    expect(await installation.sweep()).toMatchObject({ deleted: 1 });
    expect(await storage.exists('ledger.txt')).toBe(false);
  } finally {
    await installation.uninstall();
  }
}

test('fileFieldLedgerEntities with synchronize', async () => {
  const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [LedgerDoc, ...fileFieldLedgerEntities], synchronize: true });
  await dataSource.initialize();
  try {
    await roundTrip(dataSource);
  } finally {
    await dataSource.destroy();
  }
});

test('the migration FileFieldLedger1764547200000, and a clear error without the tables', async () => {
  const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [LedgerDoc], synchronize: true, migrations: [FileFieldLedger1764547200000] });
  await dataSource.initialize();
  try {
    const installation = installFileFields(dataSource, { sweeper: false });
    const error = await new LedgerDoc().file.save('no-ledger.txt', new ContentFile('x')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as Error).message).toMatch(/filefield_files, filefield_tasks\) are missing.*FileFieldLedger1764547200000 migration/);
    await installation.uninstall();
    await dataSource.runMigrations();
    await dataSource.undoLastMigration();
    await dataSource.runMigrations();
    await roundTrip(dataSource);
  } finally {
    await dataSource.destroy();
  }
});
