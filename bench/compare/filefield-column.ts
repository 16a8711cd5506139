/**
 * bench/compare, the filefield column: a TypeORM entity with `@FileField()` on SQLite (in
 * memory, ledger tables included) and the S3 driver, the way the README sets it up. Run by
 * run.ts (BENCH_COLUMN holds the configuration); prints one JSON line.
 */
import { type FieldFile, LocalFile, scanOrphans, storages } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { FileField, fileFieldLedgerEntities, installFileFields } from '@filefield/typeorm';
import { createHash } from 'node:crypto';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { type StepResult, columnConfig, emit, fail, step } from './shared';

@Entity('doc')
class Doc {
  @PrimaryGeneratedColumn() id!: number;
  @FileField() file!: FieldFile;
}

async function main(): Promise<void> {
  const config = columnConfig();
  // Driver defaults (fileOverwrite included): a FieldFile save always takes a free name, so
  // step 1 renames without the setting Django needs.
  const options = {
    bucket: config.bucket,
    endpointUrl: config.endpoint,
    region: config.region,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    location: config.prefix,
  };
  const storage = new S3Storage(options);
  storages.setDefault(storage);
  // Step 8's storage: the same bucket behind a custom domain (AWS_S3_CUSTOM_DOMAIN, no signing).
  const custom = new S3Storage({ ...options, customDomain: config.customDomain, querystringAuth: false });
  const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [Doc, ...fileFieldLedgerEntities], synchronize: true });
  await dataSource.initialize();
  // A long interval: only the commit's nudge sweeps, so no timer pass lands inside another step.
  const fileFields = installFileFields(dataSource, { sweeper: { interval: 3_600_000 } });
  const repository = dataSource.getRepository(Doc);
  const log = recordRequests(storage.client);

  const pipeline = async (tag: string, saves: number, file: string, sha256: string, orphans: string): Promise<StepResult[]> => {
    const payload = Buffer.alloc(config.smallBytes, 0x61);
    const results: StepResult[] = [];
    results.push(
      await step('same-name', log, async () => {
        for (let i = 0; i < saves; i += 1) await new Doc().file.save(`${tag}same.txt`, payload);
      }),
    );
    results.push(
      await step('distinct', log, async () => {
        for (let i = 0; i < saves; i += 1) await new Doc().file.save(`${tag}doc-${i}.txt`, payload);
      }),
    );
    results.push(
      // The same saves as step 2: through an adapter every save is the safe kind.
      await step('distinct-safe', log, async () => {
        for (let i = 0; i < saves; i += 1) await new Doc().file.save(`${tag}safe-${i}.txt`, payload);
      }),
    );
    // Not measured: step 5 deletes the files of steps 1 to 3, as it did before this step existed.
    await repository.remove((await repository.find()).filter((row) => row.file.name?.startsWith(`${tag}safe-`)));
    await fileFields.idle();
    await fileFields.sweep();
    const big = new Doc();
    results.push(await step('upload', log, () => big.file.save(`${tag}big.bin`, new LocalFile(file)).then(() => undefined)));
    results.push(
      await step('read', log, async () => {
        const row = await repository.findOneByOrFail({ id: big.id });
        const hash = createHash('sha256');
        // At most 1 MiB each, as they arrive: what the raw column hashes too (the body's own chunks).
        for await (const chunk of row.file.chunks(config.chunkBytes, { exact: false })) hash.update(chunk);
        if (hash.digest('hex') !== sha256) throw new Error(`filefield: ${row.file.name} read back with another sha256`);
      }),
    );
    // Steps 7 and 8 sign the rows of step 2 (they are deleted in step 5).
    const signed = (await repository.find()).filter((row) => row.file.name?.startsWith(`${tag}doc-`));
    results.push(
      await step('delete', log, async () => {
        await repository.remove(await repository.find());
        // remove() resolves at the commit; the files are gone once the sweep it started is done.
        await fileFields.idle();
        const report = await fileFields.sweep();
        if (report.failed > 0) throw new Error(`filefield: the sweep failed to delete ${report.failed} files`);
      }),
    );
    results.push(
      await step('orphans', log, async () => {
        // The objects are seconds old: olderThan 0 instead of waiting out the grace period. The
        // installation's sweeper deletes each queued batch while the scan lists the next.
        const scan = await scanOrphans(storage, fileFields.ledger, { prefix: orphans, olderThan: 0, delete: true, sweeper: fileFields.sweeper });
        await fileFields.idle();
        const report = await fileFields.sweep();
        if (report.failed > 0) throw new Error(`filefield: the sweep failed to delete ${report.failed} orphans`);
        if (scan.queued !== config[tag === '' ? 'orphans' : 'warmOrphans']) throw new Error(`filefield: ${scan.queued} orphans queued`);
      }),
    );
    results.push(
      await step('url-presigned', log, async () => {
        for (let i = 0; i < config.urlCalls; i += 1) await signed[i % signed.length].file.url();
      }),
    );
    results.push(
      await step('url-custom', log, async () => {
        for (let i = 0; i < config.urlCalls; i += 1) await custom.url(signed[i % signed.length].file.name!);
      }),
    );
    return results;
  };

  await pipeline('warm-', config.warmSaves, config.warmFile, config.warmSha256, 'warm-orphans');
  const steps = await pipeline('', config.saves, config.bigFile, config.bigSha256, 'orphans');
  await fileFields.uninstall();
  await dataSource.destroy();
  storage.client.destroy();
  custom.client.destroy();
  emit({ column: 'filefield', steps });
}

main().catch(fail);
