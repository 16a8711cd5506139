/**
 * bench/lifecycle: what the file lifecycle costs, on PostgreSQL and an S3 server.
 *
 *   eval "$(bash .ci/radosgw.sh start)"; npm run bench:lifecycle     # radosgw (FILEFIELD_S3_*)
 *   npm run bench:lifecycle                                           # s3rver in-process otherwise
 *
 * 1. remove() of N rows with files (TypeORM, one call, chunks of 500), with the in-process
 *    sweeper running: wall time with the storage direct and with 200 ms added to every request
 *    (a latency proxy). The commit must not wait for the storage: the two times should match.
 * 2. The sweep of those N names: time and S3 requests (DeleteObjects takes 1,000 keys), beside
 *    the raw SDK deleting as many objects with DeleteObjects (the storage's own share).
 * 3. An orphan scan (dry run) over M objects no row names: time, requests, and the peak RSS
 *    growth of a fresh process doing only the scan (sampled every 5 ms).
 * Prints a markdown table. Options: BENCH_ROWS (10000), BENCH_SCAN_OBJECTS (100000),
 * BENCH_LATENCY_MS (200), FILEFIELD_POSTGRES_URL.
 */
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FileLedger, type FieldFile, ReferenceSources, type SqlSession, createLedgerTables, scanOrphans } from '@filefield/core';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { recordRequests, startS3rver } from '@filefield/s3/testing';
import { FileField, installFileFields } from '@filefield/typeorm';
import { spawn } from 'node:child_process';
import 'reflect-metadata';
import { DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { startLatencyProxy } from './latency-proxy';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const SCAN_OBJECTS = Number(process.env.BENCH_SCAN_OBJECTS ?? 100_000);
const LATENCY = Number(process.env.BENCH_LATENCY_MS ?? 200);
const POSTGRES = process.env.FILEFIELD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MiB = 1024 * 1024;

interface Server {
  label: string;
  options: S3StorageOptions;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const bucket = `filefield-lifecycle-${Date.now().toString(36)}`;
  if (process.env.FILEFIELD_S3_ENDPOINT) {
    const options: S3StorageOptions = {
      bucket,
      endpointUrl: process.env.FILEFIELD_S3_ENDPOINT,
      region: process.env.FILEFIELD_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.FILEFIELD_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.FILEFIELD_S3_SECRET_ACCESS_KEY ?? '',
    };
    await raw(options).send(new CreateBucketCommand({ Bucket: bucket }));
    return { label: process.env.FILEFIELD_S3_SERVER ?? 'external S3', options, stop: () => emptyBucket(options) };
  }
  const server = await startS3rver();
  return { label: 's3rver', options: server.storageOptions(), stop: () => server.stop() };
}

function raw(options: S3StorageOptions): S3Client {
  return new S3Client({
    endpoint: options.endpointUrl,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId ?? 'S3RVER', secretAccessKey: options.secretAccessKey ?? 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

async function emptyBucket(options: S3StorageOptions): Promise<void> {
  const client = raw(options);
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: options.bucket }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** Put `count` tiny objects named `prefix/<i>.txt` with the raw SDK, 64 at a time. */
async function putObjects(options: S3StorageOptions, prefix: string, count: number): Promise<string[]> {
  const client = raw(options);
  const names = Array.from({ length: count }, (_, i) => `${prefix}/${i}.txt`);
  for (let start = 0; start < names.length; start += 64) {
    await Promise.all(names.slice(start, start + 64).map((name) => client.send(new PutObjectCommand({ Bucket: options.bucket, Key: `${options.location ?? ''}/${name}`.replace(/^\//, ''), Body: 'x' }))));
  }
  return names;
}

function defineDoc(table: string, storage: () => S3Storage) {
  @Entity(table)
  class Doc {
    @PrimaryGeneratedColumn() id!: number;
    @FileField({ storage }) file!: FieldFile;
  }
  return Doc;
}

/** The floor for the sweep: the raw SDK deleting N objects with DeleteObjects, 1,000 keys per request, one after the other. */
async function rawDeleteScenario(server: Server): Promise<number> {
  const options = { ...server.options, location: `raw-delete-${Date.now().toString(36)}` };
  const names = await putObjects(options, 'docs', ROWS);
  const client = raw(options);
  const started = performance.now();
  for (let start = 0; start < names.length; start += 1000) {
    const Objects = names.slice(start, start + 1000).map((name) => ({ Key: `${options.location}/${name}` }));
    await client.send(new DeleteObjectsCommand({ Bucket: options.bucket, Delete: { Objects, Quiet: true } }));
  }
  return performance.now() - started;
}

async function removalScenario(server: Server, latency: number): Promise<{ removeMs: number; sweepMs: number; requests: number; deletes: number }> {
  const location = `remove-${latency}-${Date.now().toString(36)}`;
  const direct = { ...server.options, location };
  const proxy = latency > 0 ? await startLatencyProxy(hostPort(server.options.endpointUrl!), latency) : undefined;
  const storage = new S3Storage({ ...direct, ...(proxy ? { endpointUrl: proxy.url } : {}), id: `bench:${location}` });
  const Doc = defineDoc(`bench_lifecycle_${latency}`, () => storage);
  const dataSource = new DataSource({ type: 'postgres', url: POSTGRES, entities: [Doc], synchronize: true, poolSize: 10 });
  await dataSource.initialize();
  await dataSource.query(`TRUNCATE ${dataSource.getMetadata(Doc).tablePath}`);
  const runner = dataSource.createQueryRunner();
  await createLedgerTables({ execute: (sql) => runner.query(sql).then(() => 0) }, 'postgres');
  await runner.release();
  const names = await putObjects(direct, 'docs', ROWS);
  const rows = names.map((name) => Object.assign(new Doc(), { file: name }));
  await dataSource.manager.save(rows, { chunk: 500 });
  const installation = installFileFields(dataSource, { sweeper: { interval: 3_600_000 } });
  const log = recordRequests(storage.client);

  const removeStarted = performance.now();
  await dataSource.manager.remove(rows, { chunk: 500 });
  const removeMs = performance.now() - removeStarted;
  // The commit started a background sweep; a one-shot sweep finishes what is left.
  const sweepStarted = performance.now();
  await installation.idle();
  const report = await installation.sweep();
  const sweepMs = performance.now() - sweepStarted;
  if (report.failed > 0) throw new Error(`${report.failed} deletions failed`);
  const deletes = log.requests.filter((request) => request.method === 'POST').length;
  const requests = log.count;
  await installation.uninstall();
  await dataSource.query(`DROP TABLE ${dataSource.getMetadata(Doc).tablePath}`);
  await dataSource.destroy();
  await proxy?.stop();
  return { removeMs, sweepMs, requests, deletes };
}

function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** The scan, in this process (run as a child so its RSS is its own). */
async function scanTask(): Promise<void> {
  const options = JSON.parse(process.env.BENCH_SCAN_TASK!) as S3StorageOptions;
  const storage = new S3Storage(options);
  const dataSource = new DataSource({ type: 'postgres', url: POSTGRES, poolSize: 2 });
  await dataSource.initialize();
  const database = {
    dialect: 'postgres' as const,
    autocommit: session(dataSource),
    transaction: <T>(work: (s: SqlSession) => Promise<T>) => work(session(dataSource)),
  };
  const ledger = new FileLedger(database);
  const sources = new ReferenceSources();
  sources.register({ label: 'no rows', storages: () => [storage], referencedNames: async () => new Set() });
  const log = recordRequests(storage.client);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  const started = performance.now();
  const report = await scanOrphans(storage, ledger, { sources, olderThan: 0 });
  const ms = performance.now() - started;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  process.stdout.write(`${JSON.stringify({ ms, scanned: report.scanned, orphans: report.orphans, requests: log.count, growth: (peak - before) / MiB })}\n`);
  await dataSource.destroy();
}

function session(dataSource: DataSource): SqlSession {
  return {
    rows: async (sql, params = []) => (await dataSource.query(sql, [...params])) as Array<Record<string, unknown>>,
    execute: async (sql, params = []) => {
      await dataSource.query(sql, [...params]);
      return 0;
    },
  };
}

async function scanScenario(server: Server): Promise<{ ms: number; scanned: number; orphans: number; requests: number; growth: number }> {
  const options = { ...server.options, location: `scan-${Date.now().toString(36)}` };
  await putObjects(options, 'orphans', SCAN_OBJECTS);
  const child = spawn(process.execPath, [__filename], { env: { ...process.env, BENCH_SCAN_TASK: JSON.stringify(options) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(output.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const server = await startServer();
  try {
    const direct = await removalScenario(server, 0);
    const slow = await removalScenario(server, LATENCY);
    const rawDelete = await rawDeleteScenario(server);
    const scan = await scanScenario(server);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`\nbench/lifecycle on PostgreSQL + ${server.label}: ${ROWS} rows, ${SCAN_OBJECTS} objects scanned\n`);
    console.log('| workload | storage direct | storage + ' + `${LATENCY} ms per request |`);
    console.log('|---|---:|---:|');
    console.log(`| remove() of ${ROWS} rows with files (commit) | ${seconds(direct.removeMs)} | ${seconds(slow.removeMs)} |`);
    console.log(`| sweep of the ${ROWS} names | ${seconds(direct.sweepMs)} | ${seconds(slow.sweepMs)} |`);
    console.log(`| S3 requests of the sweep (DeleteObjects) | ${direct.requests} (${direct.deletes}) | ${slow.requests} (${slow.deletes}) |`);
    console.log(`| raw SDK: DeleteObjects of ${ROWS} objects, 1,000 keys per request | ${seconds(rawDelete)} | |`);
    console.log(`\n| orphan scan (dry run) | value |\n|---|---:|`);
    console.log(`| objects listed / orphans found | ${scan.scanned} / ${scan.orphans} |`);
    console.log(`| time | ${seconds(scan.ms)} |`);
    console.log(`| S3 requests (ListObjectsV2 pages) | ${scan.requests} |`);
    console.log(`| peak RSS growth | ${scan.growth.toFixed(1)} MiB |`);
  } finally {
    await server.stop();
  }
}

if (process.env.BENCH_SCAN_TASK) {
  scanTask().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
