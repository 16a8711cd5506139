/**
 * Uploads that meet S3 faults, through an entity: whatever the fault, once the sweeper has run
 * every object under the location is one a row names, and every name a row holds is an object.
 * (The storage side of each fault is in packages/s3/test/faults.test.ts.)
 */
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ContentFile, type FieldFile, OperationAbortedError, StorageUnavailableError } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { S3FaultProxy } from '@filefield/s3/testing';
import { randomBytes } from 'node:crypto';
import { type DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { describeOnServers } from '../../s3/test/support/servers';
import { FileField, type FileFieldsInstallation, installFileFields } from '../src';
import { closeDataSource, openDataSource, tablePrefix } from './support/databases';

const TIMEOUT = 120_000;
const MiB = 1024 * 1024;
/** Later than any claim's grace period: the sweep treats every unconfirmed upload as abandoned. */
const AFTER_GRACE = 48 * 3_600_000;

describeOnServers('TypeORM entities on S3 under faults', (server) => {
  let proxy: S3FaultProxy;
  let dataSource: DataSource;
  let installation: FileFieldsInstallation;
  let storage: S3Storage;
  const prefix = tablePrefix();
  const location = `entity-faults-${prefix}`;

  @Entity(`${prefix}_faulty`)
  class Upload {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage: () => storage }) file!: FieldFile;
  }

  beforeAll(async () => {
    proxy = await S3FaultProxy.start({ target: server().endpoint });
    storage = new S3Storage({ ...server().options({ location }), endpointUrl: proxy.endpoint, multipartThreshold: 5 * MiB, multipartPartSize: 5 * MiB });
    dataSource = await openDataSource('sqlite', [Upload]);
    installation = installFileFields(dataSource, { sweeper: { interval: 3_600_000 } });
  }, TIMEOUT);
  afterEach(() => proxy.clear());
  afterAll(async () => {
    await installation?.uninstall();
    await closeDataSource(dataSource);
    await proxy?.stop();
  }, TIMEOUT);

  /** The bucket holds exactly the files the rows name, after a sweep past every grace period. */
  async function expectBucketMatchesRows(later = AFTER_GRACE): Promise<void> {
    proxy.clear();
    await installation.idle();
    await installation.sweep({ now: Date.now() + later });
    const rows = await dataSource.getRepository(Upload).find();
    const named = rows.map((row) => row.file.name).filter((name): name is string => name !== null).sort();
    const keyPrefix = `${server().prefix}/${location}/`;
    const page = await server().raw.send(new ListObjectsV2Command({ Bucket: server().bucket, Prefix: keyPrefix }));
    const stored = (page.Contents ?? []).map((object) => object.Key!.slice(keyPrefix.length)).sort();
    expect(stored).toEqual(named);
  }

  it('a lost answer to the PUT: the row names the one object the save made', async () => {
    proxy.inject({ match: { method: 'PUT', key: /lost\.txt$/ }, fault: { kind: 'lost-response' } });
    const upload = new Upload();
    expect(await upload.file.save('lost.txt', new ContentFile('lost'))).toBe('lost.txt');
    await expectBucketMatchesRows();
    expect((await (await dataSource.getRepository(Upload).findOneByOrFail({ id: upload.id })).file.read()).toString()).toBe('lost');
  }, TIMEOUT);

  it('an upload the server applied but whose every answer was lost: save fails, no row names it, the sweep removes it', async () => {
    proxy.inject({ match: { method: 'PUT', key: /applied\.txt$/ }, times: Infinity, fault: { kind: 'reset-during-response' } });
    const upload = new Upload();
    await expect(upload.file.save('applied.txt', new ContentFile('applied'))).rejects.toBeInstanceOf(StorageUnavailableError);
    expect(upload.file.name).toBeNull();
    await expectBucketMatchesRows();
  }, TIMEOUT);

  it('a multipart upload aborted by the caller half-way: no row, no object, no open upload', async () => {
    const stall = proxy.inject({ match: { method: 'PUT', query: 'partNumber' }, skip: 1, fault: { kind: 'stall' } });
    const controller = new AbortController();
    const upload = new Upload();
    const saving = upload.file.save('big.bin', randomBytes(12 * MiB), { signal: controller.signal });
    await stall.waitForHits();
    controller.abort();
    await expect(saving).rejects.toBeInstanceOf(OperationAbortedError);
    expect(upload.file.name).toBeNull();
    await expectBucketMatchesRows();
    // s3rver keeps no list of multipart uploads (it has no ListMultipartUploads).
    if (server().label !== 's3rver') {
      const open = await server().raw.send(new ListMultipartUploadsCommand({ Bucket: server().bucket, Prefix: `${server().prefix}/${location}/` }));
      expect(open.Uploads ?? []).toEqual([]);
    }
  }, TIMEOUT);

  it('a replaced file whose deletion meets 503s is deleted by a later sweep', async () => {
    const upload = new Upload();
    await upload.file.save('old.txt', new ContentFile('old'));
    proxy.inject({ match: { method: 'POST', query: 'delete' }, times: Infinity, fault: { kind: 'status', status: 503 } });
    proxy.inject({ match: { method: 'DELETE' }, times: Infinity, fault: { kind: 'status', status: 503 } });
    await upload.file.save('new.txt', new ContentFile('new'));
    await installation.idle();
    const failing = await installation.sweep({ now: Date.now() + AFTER_GRACE });
    expect(failing.failed).toBeGreaterThanOrEqual(1);
    // Past the backoff the failed deletion earned.
    await expectBucketMatchesRows(2 * AFTER_GRACE);
  }, TIMEOUT);
});
