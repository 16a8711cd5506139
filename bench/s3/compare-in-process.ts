/**
 * bench/s3/compare-in-process: bench/compare's small saves and its read, variant by variant in one
 * process, so that what filefield adds can be told apart from the drift between processes.
 *
 *   eval "$(bash .ci/radosgw.sh start)"; npm run bench:compare:in-process
 *
 * Saves: BENCH_SAVES (200) distinct 1 KiB files per round, each save running every variant once in
 * an order rotated per save: a TypeORM row alone; a plain PutObject + row (the compare's raw
 * overwriting save); a PutObject with `If-None-Match: *` + row; `S3Storage.save` with unique names
 * + row; `FieldFile.save` through a TypeORM `@FileField()` (its ledger claim, the conditional PUT,
 * the row with its reference statement), with the time inside its storage's `save()` (claim and
 * upload) taken apart from the rest (the row). Reads: one BENCH_BIG_MIB (200) MiB object saved
 * through FieldFile, read whole with sha256 by each variant in turn: the raw GetObject body,
 * `storage.open().chunks(1 MiB, { exact: false })` and `FieldFile.chunks(1 MiB, { exact: false })`
 * of the row loaded anew. BENCH_ROUNDS (4) rounds after a warm-up; the tables give the median round
 * and, per round, the ratio to the first row of the group (median, min–max).
 *
 * Server: FILEFIELD_S3_* (radosgw from `.ci/radosgw.sh start`), else s3rver in a child process
 * (which ignores If-None-Match). SQLite in memory, as in the compare's columns.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type FieldFile, LocalFile, storages } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { FileField, fileFieldLedgerEntities, installFileFields } from '@filefield/typeorm';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { interleave, median, MiB, rawClient, sha256, startServer, type Variant, writeRandomFile } from './shared';

const SAVES = Number(process.env.BENCH_SAVES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 200);

@Entity('doc')
class Doc {
  @PrimaryGeneratedColumn() id!: number;
  @FileField() file!: FieldFile;
}

@Entity('plain_doc')
class PlainDoc {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar' }) file!: string;
}

/** Rows from `parts` on are parts of the row before them: no ratio. */
function table(labels: string[], rounds: number[][], unit: (ms: number) => string, base: number, parts = labels.length): string[] {
  return labels.map((label, index) => {
    const ratios = rounds.map((round) => round[index] / round[base]);
    const ratio =
      index >= parts ? '' : index === base ? '1' : `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    return `| ${label} | ${unit(median(rounds.map((round) => round[index])))} | ${ratio} |`;
  });
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const target = await startServer('in-process');
  const Bucket = target.options.bucket;
  const client = rawClient(target.options);
  const fieldStorage = new S3Storage({ ...target.options, location: 'field' });
  const driver = new S3Storage({ ...target.options, location: 'driver', fileOverwrite: false });
  storages.setDefault(fieldStorage);
  const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [Doc, PlainDoc, ...fileFieldLedgerEntities], synchronize: true });
  await dataSource.initialize();
  const fileFields = installFileFields(dataSource, { sweeper: { interval: 3_600_000 } });
  const rows = dataSource.getRepository(PlainDoc);
  const row = (file: string) => rows.save(Object.assign(new PlainDoc(), { file }));
  const payload = Buffer.alloc(1024, 0x61);
  const put = (Key: string, IfNoneMatch?: string) => client.send(new PutObjectCommand({ Bucket, Key, Body: payload, ContentType: 'text/plain', IfNoneMatch }));

  // FieldFile.save's time inside its storage's save() (the ledger claim and the upload), summed per round.
  let insideDriver = 0;
  const save = fieldStorage.save.bind(fieldStorage);
  fieldStorage.save = async (...args: Parameters<S3Storage['save']>) => {
    const started = performance.now();
    try {
      return await save(...args);
    } finally {
      insideDriver += performance.now() - started;
    }
  };

  const saves: Variant[] = [
    { label: 'TypeORM row alone', run: (round, i) => row(`alone/${round}-${i}.txt`) },
    { label: 'PutObject + row', run: (round, i) => put(`plain/${round}-${i}.txt`).then(() => row(`plain/${round}-${i}.txt`)) },
    { label: 'PutObject, If-None-Match: * + row', run: (round, i) => put(`conditional/${round}-${i}.txt`, '*').then(() => row(`conditional/${round}-${i}.txt`)) },
    { label: '`S3Storage.save`, unique names + row', run: (round, i) => driver.save(`${round}-${i}.txt`, payload).then(row) },
    { label: '`FieldFile.save` (TypeORM `@FileField()`)', run: (round, i) => new Doc().file.save(`${round}-${i}.txt`, payload) },
  ];

  const directory = await mkdtemp(join(os.tmpdir(), 'filefield-in-process-'));
  const bigPath = join(directory, 'big.bin');
  await writeRandomFile(bigPath, BIG_MIB * MiB);
  const big = new Doc();
  await big.file.save('big.bin', new LocalFile(bigPath));
  await rm(directory, { recursive: true, force: true });
  const bigKey = fieldStorage.key(big.file.name!);
  const repository = dataSource.getRepository(Doc);
  const reads: Variant[] = [
    { label: 'GetObject body', run: async () => sha256((await client.send(new GetObjectCommand({ Bucket, Key: bigKey }))).Body as Readable) },
    { label: '`storage.open().chunks(1 MiB, { exact: false })`', run: () => sha256(fieldStorage.open(big.file.name!).chunks(MiB, { exact: false })) },
    {
      label: '`FieldFile.chunks(1 MiB, { exact: false })` of the row loaded anew',
      run: async () => sha256((await repository.findOneByOrFail({ id: big.id })).file.chunks(MiB, { exact: false })),
    },
  ];

  await interleave(saves, -1, 20);
  await interleave(reads, -1, 1);
  const saveRounds: number[][] = [];
  const readRounds: number[][] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    insideDriver = 0;
    const totals = await interleave(saves, round, SAVES);
    const fieldFile = totals[totals.length - 1];
    saveRounds.push([...totals, insideDriver, fieldFile - insideDriver]);
    readRounds.push(await interleave(reads, round, 1));
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }

  const perSave = (ms: number) => `${((ms / SAVES) * 1000).toFixed(0)} µs per save`;
  const labels = [...saves.map((variant) => variant.label), '… of it, inside its storage’s `save()` (claim + upload)', '… of it, the rest (the row, its reference statement)'];
  console.log(`### bench/s3/compare-in-process on ${target.label}: ${ROUNDS} rounds, median round; ratio to \`PutObject + row\` per round (min–max)\n`);
  console.log(`| ${SAVES} distinct 1 KiB saves | median round | ratio |`);
  console.log('|---|---:|---:|');
  for (const line of table(labels, saveRounds, perSave, 1, saves.length)) console.log(line);
  console.log(`\n| read ${BIG_MIB} MiB + sha256 | median round | ratio |`);
  console.log('|---|---:|---:|');
  for (const line of table(reads.map((variant) => variant.label), readRounds, (ms) => `${ms.toFixed(0)} ms`, 0)) console.log(line);

  await fileFields.uninstall();
  await dataSource.destroy();
  client.destroy();
  fieldStorage.client.destroy();
  driver.client.destroy();
  await target.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
