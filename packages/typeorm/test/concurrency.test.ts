/**
 * Two entities sharing a file, removed by parallel transactions on separate connections: the file
 * is deleted exactly once, after the last reference is gone, and never while a committed row still
 * references it. PostgreSQL and MariaDB only: TypeORM's SQLite driver runs everything on one
 * connection, so its transactions cannot overlap.
 */
import { ContentFile, MemoryStorage } from '@filefield/core';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { describeWith } from '../../../test-support/services';
import { type FileFieldsInstallation, installFileFields } from '../src';
import { CountingStorage } from './support/counting-storage';
import { type DatabaseKind, closeDataSource, connectionOptions, openDataSource, tablePrefix } from './support/databases';
import { type Model, defineModel } from './support/model';

const PAIRS = 8;
const ROUNDS = 3;

/** Resolves once `parties` callers have arrived. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived += 1;
    if (arrived === parties) release();
    return all;
  };
}

function concurrencySuite(kind: DatabaseKind): void {
  let storage: CountingStorage;
  let model: Model;
  let dataSource: DataSource;
  let observer: DataSource;
  let installation: FileFieldsInstallation;
  const referencesWhenDeleted: number[] = [];

  beforeAll(async () => {
    storage = new CountingStorage();
    model = defineModel(tablePrefix(), storage, new MemoryStorage());
    // Every transaction of a round is open at once (they wait for each other): one connection each.
    dataSource = await openDataSource(kind, model.entities, { poolSize: 2 * PAIRS + 4 });
    installation = installFileFields(dataSource);
    // A second pool sees only committed rows: at each deletion it counts who still uses the name.
    observer = new DataSource({ ...connectionOptions(kind), poolSize: 2, entities: model.entities } as DataSourceOptions);
    await observer.initialize();
    storage.beforeDelete = async (name) => {
      referencesWhenDeleted.push(await observer.manager.countBy(model.Document, { file: name as never }));
    };
  });

  afterAll(async () => {
    installation?.uninstall();
    if (observer?.isInitialized) await observer.destroy();
    await closeDataSource(dataSource);
  });

  test.each(Array.from({ length: ROUNDS }, (_, round) => round + 1))('round %i: each shared file deleted exactly once, after its last reference', async () => {
    const shared: string[] = [];
    const documents: InstanceType<Model['Document']>[] = [];
    for (let pair = 0; pair < PAIRS; pair += 1) {
      const first = new model.Document();
      await first.file.save(`shared-${pair}.txt`, new ContentFile(`pair ${pair}`));
      const second = await dataSource.manager.save(Object.assign(new model.Document(), { file: first.file.name }));
      shared.push(first.file.name!);
      documents.push(first, second);
    }
    // One more row keeps using the first shared file: it must survive.
    const keeper = await dataSource.manager.save(Object.assign(new model.Document(), { file: shared[0] }));
    storage.deletedExisting.length = 0;
    referencesWhenDeleted.length = 0;

    // Every transaction deletes its row, then waits for all the others to have deleted theirs
    // too, so the commits (and the deletions they trigger) overlap.
    const allRemoved = barrier(documents.length);
    await Promise.all(
      documents.map((document) =>
        dataSource.transaction(async (manager) => {
          await manager.remove(document);
          await allRemoved();
        }),
      ),
    );

    expect(await storage.exists(shared[0])).toBe(true);
    for (const name of shared.slice(1)) {
      expect(await storage.exists(name)).toBe(false);
      expect(storage.deletedExisting.filter((deleted) => deleted === name)).toHaveLength(1);
    }
    expect(storage.deletedExisting).toHaveLength(PAIRS - 1);
    expect(referencesWhenDeleted).toEqual(Array(PAIRS - 1).fill(0));

    await dataSource.manager.remove(keeper);
    expect(await storage.exists(shared[0])).toBe(false);
  });
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describeWith(kind, `concurrent removals [${kind}]`, () => concurrencySuite(kind));
}
