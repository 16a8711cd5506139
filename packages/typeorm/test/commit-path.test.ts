/**
 * Nothing in the commit path waits for the storage [lifecycle case 7]: with a pool of one
 * connection and the storage hung behind a stalling proxy, removals commit and unrelated queries
 * run while the background sweeper is stuck in the storage (it holds no connection meanwhile).
 * And a storage that cannot be resolved fails the write before its commit, never after.
 */
import { ContentFile, type FieldFile, StorageRegistry } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { recordDeletions } from '@filefield/core/testing';
import { FaultProxy } from '../../../test-support/fault-proxy';
import { describeOnServers } from '../../s3/test/support/servers';
import { FileField, type FileFieldsInstallation, installFileFields } from '../src';
import { closeDataSource, describeEachDatabase, openDataSource, tablePrefix } from './support/databases';

const TIMEOUT = 120_000;

describeEachDatabase('the commit path', (kind) => {
  describeOnServers('on S3', (server) => {
    let proxy: FaultProxy;
    let dataSource: DataSource;
    let installation: FileFieldsInstallation;
    let storage: S3Storage;
    const prefix = tablePrefix();

    @Entity(`${prefix}_hung`)
    class Hung {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage: () => storage }) file!: FieldFile;
    }

    beforeAll(async () => {
      const endpoint = new URL(server().endpoint);
      proxy = await FaultProxy.start({ host: endpoint.hostname, port: Number(endpoint.port) });
      storage = new S3Storage({ ...server().options({ location: `commit-path-${kind}` }), endpointUrl: proxy.url });
      dataSource = await openDataSource(kind, [Hung], { poolSize: 1 });
      installation = installFileFields(dataSource, { sweeper: { interval: 3_600_000, deleteTimeout: 60_000 } });
    }, TIMEOUT);

    afterAll(async () => {
      proxy?.heal();
      await installation?.uninstall();
      await closeDataSource(dataSource);
      await proxy?.stop();
    }, TIMEOUT);

    test('removals commit and other queries run while the sweeper waits for a hung storage', async () => {
      const first = new Hung();
      await first.file.save('first.txt', new ContentFile('first'));
      const second = new Hung();
      await second.file.save('second.txt', new ContentFile('second'));
      const names = [first.file.name!, second.file.name!];
      const deletions = recordDeletions(storage);
      proxy.stall();
      const held = deletions.hold();
      await dataSource.manager.remove(first); // the commit starts a background sweep
      await held.reached; // the sweep has reached the storage…
      held.release(); // …and now hangs in DeleteObjects behind the stalled proxy
      // Had the sweep kept the pool's only connection, these would wait until the storage answered.
      await dataSource.manager.remove(second);
      expect(await dataSource.manager.count(Hung)).toBe(0);
      await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([expect.objectContaining({ one: expect.anything() })]);
      proxy.heal(); // the hung request fails now; the files stay released
      await installation.idle();
      await installation.sweep({ now: Date.now() + 3_600_000 });
      for (const name of names) expect(await storage.exists(name)).toBe(false);
    }, TIMEOUT);
  });

  describe('a storage that cannot be resolved', () => {
    let dataSource: DataSource;
    let installation: FileFieldsInstallation;
    const registry = new StorageRegistry();
    const prefix = tablePrefix();

    @Entity(`${prefix}_unresolved`)
    class Unresolved {
      @PrimaryGeneratedColumn() id!: number;
      @FileField({ storage: 'never-registered' }) file!: FieldFile;
    }

    beforeAll(async () => {
      dataSource = await openDataSource(kind, [Unresolved]);
      installation = installFileFields(dataSource, { sweeper: false });
    }, TIMEOUT);

    afterAll(async () => {
      await installation?.uninstall();
      await closeDataSource(dataSource);
    }, TIMEOUT);

    test('fails the write before it commits, with the storage named; nothing is written', async () => {
      expect(registry.has('never-registered')).toBe(false);
      await expect(dataSource.manager.save(Object.assign(new Unresolved(), { file: 'a.txt' }))).rejects.toThrow(/Could not find a storage named 'never-registered'/);
      expect(await dataSource.manager.count(Unresolved)).toBe(0);
      // A row written behind filefield's back: removing it fails before the commit, and the row stays.
      await dataSource.query(`INSERT INTO ${dataSource.driver.escape(`${prefix}_unresolved`)} (${dataSource.driver.escape('file')}) VALUES ('legacy.txt')`);
      const [row] = await dataSource.manager.find(Unresolved);
      await expect(dataSource.manager.remove(row)).rejects.toThrow(/Could not find a storage named 'never-registered'/);
      expect(await dataSource.manager.count(Unresolved)).toBe(1);
    }, TIMEOUT);
  });
});
