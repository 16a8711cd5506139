/**
 * Reference checks are batched: removing 1,000 entities (2,000 names) asks each file column
 * using the storage once per 500 names — counted from the SQL TypeORM logged — not once per entity.
 */
import { MemoryStorage } from '@filefield/core';
import type { DataSource } from 'typeorm';
import { type FileFieldsInstallation, installFileFields } from '../src';
import { referenceTargets } from '../src/reference-checker';
import { CountingStorage } from './support/counting-storage';
import { QueryLog, closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

const ENTITIES = 1000;
const BATCH = 500;

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
    installation = installFileFields(dataSource);
  });

  afterAll(async () => {
    installation?.uninstall();
    await closeDataSource(dataSource);
  });

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

  /** One query per file column using the storage, per batch of 500 of the 2,000 names. */
  function expectedQueries(): number {
    const columns = referenceTargets(dataSource, storage).length;
    expect(columns).toBe(6); // Document.file/.archive/.cover, Attachment.blob, Photo.image, SoftDoc.file
    return columns * Math.ceil((2 * ENTITIES) / BATCH);
  }

  test('remove(1,000 entities) in one call', async () => {
    const documents = await documentsWithFiles('one-call');
    log.clear();
    // chunk: SQLite cannot load 1,000 entities by id in one query (expression tree depth); still one transaction.
    await dataSource.manager.remove(documents, { chunk: 200 });
    const queries = log.referenceQueries();
    expect(queries.length).toBe(expectedQueries());
    expect(queries.length).toBeLessThan(ENTITIES);
    expect(storage.names().filter((name) => name.startsWith('bulk/one-call-'))).toEqual([]);
  });

  test('1,000 remove() calls in one transaction', async () => {
    const documents = await documentsWithFiles('many-calls');
    log.clear();
    await dataSource.transaction(async (manager) => {
      for (const document of documents) await manager.remove(document);
    });
    expect(log.referenceQueries().length).toBe(expectedQueries());
    expect(storage.names().filter((name) => name.startsWith('bulk/many-calls-'))).toEqual([]);
  });

  test('names found referenced are not asked about again in the next columns', async () => {
    const documents = await documentsWithFiles('shared');
    // Every name is still used by a second document: the first column answers for all of them.
    const twins = documents.map((document) => Object.assign(new model.Document(), { file: document.file.name, archive: document.archive.name }));
    await dataSource.manager.save(twins, { chunk: 200 });
    log.clear();
    await dataSource.manager.remove(documents, { chunk: 200 });
    const queries = log.referenceQueries();
    // Document.file finds the `file` names, Document.archive the rest; nothing is left to ask about.
    expect(queries.length).toBe(2 * Math.ceil((2 * ENTITIES) / BATCH) - Math.floor(ENTITIES / BATCH));
    expect(storage.names().filter((name) => name.startsWith('bulk/shared-')).length).toBe(2 * ENTITIES);
  });
});
