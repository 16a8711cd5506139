/**
 * The sweeper's reference checks are batched: sweeping the 2,000 names that removing 1,000
 * entities released asks each file column using the storage once per 500 names — counted from
 * the SQL TypeORM logged — not once per entity. The background sweeper is off and every test
 * sweeps its own work, so no test counts the queries of another.
 */
import { MemoryStorage } from '@filefield/core';
import type { DataSource } from 'typeorm';
import { type FileFieldsInstallation, installFileFields } from '../src';
import { CountingStorage } from './support/counting-storage';
import { QueryLog, closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

const ENTITIES = 1000;
const BATCH = 500;
/** Document.file/.archive/.cover, Attachment.blob, Photo.image, SoftDoc.file use the storage. */
const COLUMNS = 6;
const TIMEOUT = 120_000;

describeEachDatabase('reference checks', (kind) => {
  let storage: CountingStorage;
  let model: Model;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;
  const log = new QueryLog();

  beforeAll(async () => {
    storage = new CountingStorage();
    model = defineModel(tablePrefix(), storage, new MemoryStorage());
    dataSource = await openDataSource(kind, model.entities, { logger: log });
    installation = installFileFields(dataSource, { sweeper: false });
  }, TIMEOUT);

  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
  }, TIMEOUT);

  beforeEach(() => log.clear());

  async function documentsWithFiles(tag: string) {
    const documents = [];
    for (let i = 0; i < ENTITIES; i += 1) {
      const document = new model.Document();
      document.file = (await storage.save(`bulk/${tag}-${i}.txt`, 'f')) as never;
      document.archive = (await storage.save(`bulk/${tag}-${i}-archive.txt`, 'a')) as never;
      documents.push(document);
    }
    return dataSource.manager.save(documents, { chunk: 200 });
  }

  test('remove(1,000 entities) in one call, then one sweep', async () => {
    const documents = await documentsWithFiles('one-call');
    // chunk: SQLite cannot load 1,000 entities by id in one query (expression tree depth); still one transaction.
    await dataSource.manager.remove(documents, { chunk: 200 });
    log.clear();
    const report = await installation.sweep();
    expect(report.deleted).toBe(2 * ENTITIES);
    const queries = log.referenceQueries();
    expect(queries.length).toBe(COLUMNS * Math.ceil((2 * ENTITIES) / BATCH));
    expect(storage.names().filter((name) => name.startsWith('bulk/one-call-'))).toEqual([]);
  }, TIMEOUT);

  test('1,000 remove() calls in one transaction, then one sweep', async () => {
    const documents = await documentsWithFiles('many-calls');
    await dataSource.transaction(async (manager) => {
      for (const document of documents) await manager.remove(document);
    });
    log.clear();
    await installation.sweep();
    expect(log.referenceQueries().length).toBe(COLUMNS * Math.ceil((2 * ENTITIES) / BATCH));
    expect(storage.names().filter((name) => name.startsWith('bulk/many-calls-'))).toEqual([]);
  }, TIMEOUT);

  test('names found referenced are not asked about again in the next columns', async () => {
    const documents = await documentsWithFiles('shared');
    // Every name is still used by a second document: the first column answers for all of them.
    const twins = documents.map((document) => Object.assign(new model.Document(), { file: document.file.name, archive: document.archive.name }));
    await dataSource.manager.save(twins, { chunk: 200 });
    await dataSource.manager.remove(documents, { chunk: 200 });
    log.clear();
    const report = await installation.sweep();
    expect(report.kept).toBe(2 * ENTITIES);
    // Per batch of 500 names, Document.file finds the `file` names and Document.archive the rest.
    expect(log.referenceQueries().length).toBe(2 * Math.ceil((2 * ENTITIES) / BATCH));
    expect(storage.names().filter((name) => name.startsWith('bulk/shared-')).length).toBe(2 * ENTITIES);
  }, TIMEOUT);
});
