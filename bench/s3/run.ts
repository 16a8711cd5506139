/**
 * bench/s3: the S3 driver against raw AWS SDK calls on the same server, in one run.
 *
 *   npx tsc -b bench/s3 && node bench/s3/dist/run.js            # s3rver in a child process
 *   eval "$(bash .ci/radosgw.sh start)"; node bench/s3/dist/run.js   # the FILEFIELD_S3_* server
 *
 * Workloads: N small saves (PUT), N reads (GET), one large upload (a stream of unknown size, and
 * a file on disk: LocalFile for the driver, createReadStream for lib-storage) and download, each
 * done by the driver (with its defaults) and by the SDK directly (the raw side uses the same part
 * size and parallelism, so the ratio is the driver's overhead). Small calls alternate driver/raw one by one; each large
 * transfer runs in a fresh child process of this file (BENCH_LARGE_TASK), so its peak RSS growth
 * is its own. Prints a markdown table: times, driver/raw ratio, requests per save, peak RSS growth.
 *
 * Options (environment): BENCH_SMALL_COUNT (500), BENCH_SMALL_BYTES (1024),
 * BENCH_LARGE_MIB (512), BENCH_ROUNDS (3; the small workloads report the median round).
 * The server runs outside the measured processes, so the RSS is the client's alone.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LocalFile } from '@filefield/core';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { collectRadosgwGarbage, format, median, MiB, rawClient, startServer, writeRandomFile } from './shared';

const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 500);
const SMALL_BYTES = Number(process.env.BENCH_SMALL_BYTES ?? 1024);
const LARGE_BYTES = Number(process.env.BENCH_LARGE_MIB ?? 512) * 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Peak RSS above the level at start, sampled every 10 ms. */
async function peakRss<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, growth: peak - baseline };
  } finally {
    clearInterval(timer);
  }
}

/** `total` bytes in 1 MiB chunks of one reused buffer: the producer costs nothing. */
function largeBody(total: number): Readable {
  const chunk = Buffer.alloc(MiB, 0x5a);
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < total; sent += MiB) yield sent + MiB <= total ? chunk : chunk.subarray(0, total - sent);
    })(),
  );
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

type LargeTask = 'raw-upload' | 'driver-upload' | 'raw-file-upload' | 'driver-file-upload' | 'raw-download' | 'driver-download' | 'chunks-download' | 'any-download';
interface LargeResult {
  ms: number;
  rssGrowth: number;
}

/** The driver's defaults (transfer.ts), used by the raw side too. */
const LARGE_PARTS = { partSize: 8 * MiB, queueSize: 4 };
const LARGE_KEY = { raw: 'raw/large.bin', driver: 'large.bin' };

/** Run one large transfer in a child process running this file with BENCH_LARGE_TASK set. */
async function runLargeTask(task: LargeTask, options: S3StorageOptions, file: string): Promise<LargeResult> {
  const child = spawn(process.execPath, [__filename], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_LARGE_TASK: task, BENCH_OPTIONS: JSON.stringify(options), BENCH_LARGE_FILE: file },
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => {
    output += data.toString();
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`large transfer ${task} failed (exit ${code})`);
  return JSON.parse(output.trim().split('\n').pop()!) as LargeResult;
}

/** The child side: one transfer, its time and this process's RSS growth. */
async function largeTask(task: LargeTask, options: S3StorageOptions): Promise<LargeResult> {
  // The driver's defaults (the same as LARGE_PARTS).
  const driver = new S3Storage({ ...options, location: 'driver' });
  const file = process.env.BENCH_LARGE_FILE!;
  const raw = rawClient(options);
  const { bucket } = options;
  // One request each first: connections, credentials and code paths are set up before the baseline.
  await driver.exists('warm.txt');
  await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/warm.txt', Body: 'w' }));
  const transfer = async (): Promise<void> => {
    if (task === 'raw-upload') {
      const params = { Bucket: bucket, Key: LARGE_KEY.raw, Body: largeBody(LARGE_BYTES), ContentType: 'application/octet-stream' };
      await new Upload({ client: raw, params, ...LARGE_PARTS }).done();
      return;
    }
    if (task === 'driver-upload') {
      await driver.save(LARGE_KEY.driver, largeBody(LARGE_BYTES));
      return;
    }
    if (task === 'raw-file-upload') {
      const params = { Bucket: bucket, Key: LARGE_KEY.raw, Body: createReadStream(file), ContentType: 'application/octet-stream' };
      await new Upload({ client: raw, params, ...LARGE_PARTS }).done();
      return;
    }
    if (task === 'driver-file-upload') {
      await driver.save(LARGE_KEY.driver, new LocalFile(file));
      return;
    }
    let bytes: number;
    if (task === 'raw-download') {
      const response = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: LARGE_KEY.raw }));
      bytes = await drain(response.Body as Readable);
    } else if (task === 'driver-download') {
      bytes = await drain(await driver.createReadStream(LARGE_KEY.driver));
    } else if (task === 'chunks-download') {
      bytes = await drain(driver.open(LARGE_KEY.driver).chunks(MiB));
    } else {
      bytes = await drain(driver.open(LARGE_KEY.driver).chunks(MiB, { exact: false }));
    }
    if (bytes !== LARGE_BYTES) throw new Error(`${task} got ${bytes} bytes, expected ${LARGE_BYTES}`);
  };
  const { result, growth } = await peakRss(() => timed(transfer));
  raw.destroy();
  driver.client.destroy();
  return { ms: result, rssGrowth: growth };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startServer('filefield-bench');
  const scratch = await mkdtemp(join(tmpdir(), 'filefield-bench-'));
  const largeFile = join(scratch, 'large.bin');
  await writeRandomFile(largeFile, LARGE_BYTES);
  const driver = new S3Storage({ ...server.options, location: 'driver' });
  const unique = new S3Storage({ ...server.options, location: 'driver-unique', fileOverwrite: false });
  const raw = rawClient(server.options);
  const { bucket } = server.options;
  const payload = Buffer.alloc(SMALL_BYTES, 0x61);
  const rows: Array<[string, number, number, string]> = [];

  try {
    // Warm both clients (connections, code paths) before measuring.
    await driver.save('warm.txt', payload);
    await driver.open('warm.txt').read();
    await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'raw/warm.txt', Body: payload, ContentType: 'text/plain' }));
    await unique.conditionalWritesSupported();

    // Driver and raw calls alternate, one by one, so both meet the same server state (a busy
    // moment, a compaction) instead of one side getting the quiet half of the run.
    const small = { driverSave: [] as number[], rawSave: [] as number[], driverRead: [] as number[], rawRead: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      let driverSave = 0;
      let rawSave = 0;
      for (let i = 0; i < SMALL_COUNT; i += 1) {
        const first = i % 2 === 0;
        const rawPut = () => timed(() => raw.send(new PutObjectCommand({ Bucket: bucket, Key: `raw/small-${i}.txt`, Body: payload, ContentType: 'text/plain' })).then(() => undefined));
        const driverPut = () => timed(() => driver.save(`small-${i}.txt`, payload).then(() => undefined));
        if (first) {
          rawSave += await rawPut();
          driverSave += await driverPut();
        } else {
          driverSave += await driverPut();
          rawSave += await rawPut();
        }
      }
      let driverRead = 0;
      let rawRead = 0;
      for (let i = 0; i < SMALL_COUNT; i += 1) {
        const rawGet = () =>
          timed(async () => {
            const response = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: `raw/small-${i}.txt` }));
            await response.Body!.transformToByteArray();
          });
        const driverGet = () => timed(() => driver.open(`small-${i}.txt`).read().then(() => undefined));
        if (i % 2 === 0) {
          rawRead += await rawGet();
          driverRead += await driverGet();
        } else {
          driverRead += await driverGet();
          rawRead += await rawGet();
        }
      }
      small.driverSave.push(driverSave);
      small.rawSave.push(rawSave);
      small.driverRead.push(driverRead);
      small.rawRead.push(rawRead);
    }
    const kib = (SMALL_BYTES / 1024).toString();
    rows.push([`${SMALL_COUNT} × ${kib} KiB saves`, median(small.driverSave), median(small.rawSave), '']);
    rows.push([`${SMALL_COUNT} × ${kib} KiB reads`, median(small.driverRead), median(small.rawRead), '']);

    // Requests per save: overwrite (1 PUT) and unique names (probe done above; 1 PUT with conditional writes).
    const overwriteLog = recordRequests(driver.client);
    for (let i = 0; i < 50; i += 1) await driver.save(`count-${i}.txt`, payload);
    overwriteLog.restore();
    const uniqueLog = recordRequests(unique.client);
    const uniqueTime = await timed(async () => {
      for (let i = 0; i < SMALL_COUNT; i += 1) await unique.save(`u-${i}.txt`, payload);
    });
    uniqueLog.restore();
    const conditional = await unique.conditionalWritesSupported();

    // The large file: each transfer runs in a fresh process (so its RSS growth is its own, not
    // what earlier phases left), uploads in the order raw, driver, driver, raw to cancel drift.
    const mib = Math.round(LARGE_BYTES / MiB);
    const large = async (task: LargeTask) => runLargeTask(task, server.options, largeFile);
    const uploads = { raw: [] as LargeResult[], driver: [] as LargeResult[] };
    for (const side of ['raw', 'driver', 'driver', 'raw'] as const) uploads[side].push(await large(`${side}-upload`));
    // Each upload replaced the object before it; radosgw keeps the replaced data until its GC.
    await collectRadosgwGarbage();
    const fileUploads = { raw: [] as LargeResult[], driver: [] as LargeResult[] };
    for (const side of ['raw', 'driver', 'driver', 'raw'] as const) fileUploads[side].push(await large(`${side}-file-upload`));
    await collectRadosgwGarbage();
    const downloads = { raw: [] as LargeResult[], driver: [] as LargeResult[], chunks: [] as LargeResult[], any: [] as LargeResult[] };
    for (const task of ['raw', 'driver', 'chunks', 'any', 'any', 'chunks', 'driver', 'raw'] as const) downloads[task].push(await large(`${task}-download`));
    const best = (results: LargeResult[]) => Math.min(...results.map((result) => result.ms));
    const growth = (results: LargeResult[]) => Math.max(...results.map((result) => result.rssGrowth));
    const rss = (driverSide: LargeResult[], rawSide: LargeResult[]) =>
      `driver ${(growth(driverSide) / MiB).toFixed(0)} MiB, raw ${(growth(rawSide) / MiB).toFixed(0)} MiB`;
    rows.push([`${mib} MiB upload (stream of unknown size)`, best(uploads.driver), best(uploads.raw), rss(uploads.driver, uploads.raw)]);
    rows.push([`${mib} MiB upload (LocalFile: ranged parts; raw: createReadStream)`, best(fileUploads.driver), best(fileUploads.raw), rss(fileUploads.driver, fileUploads.raw)]);
    rows.push([`${mib} MiB download (createReadStream)`, best(downloads.driver), best(downloads.raw), rss(downloads.driver, downloads.raw)]);
    rows.push([`${mib} MiB download (open().chunks(1 MiB))`, best(downloads.chunks), best(downloads.raw), rss(downloads.chunks, downloads.raw)]);
    rows.push([`${mib} MiB download (open().chunks(1 MiB, { exact: false }))`, best(downloads.any), best(downloads.raw), rss(downloads.any, downloads.raw)]);
    const { partSize, queueSize } = LARGE_PARTS;

    const lines = [
      `S3 driver vs raw SDK on ${server.label}; Node ${process.version}; median of ${ROUNDS} rounds for the small workloads (driver and raw calls alternating); large transfers: best of 2, each in a fresh process`,
      '',
      '| workload | driver | raw SDK | driver/raw | peak RSS growth |',
      '|---|---:|---:|---:|---|',
      ...rows.map(([name, driverMs, rawMs, memory]) => `| ${name} | ${format(driverMs)} | ${format(rawMs)} | ${(driverMs / rawMs).toFixed(2)} | ${memory} |`),
      '',
      `Requests per save: ${(overwriteLog.count / 50).toFixed(2)} with fileOverwrite (PUT); ` +
        `${(uniqueLog.count / SMALL_COUNT).toFixed(2)} with unique names ` +
        `(${conditional ? 'conditional writes: PUT with If-None-Match' : 'server ignores If-None-Match: HEAD + PUT'}; ${SMALL_COUNT} saves in ${format(uniqueTime)}).`,
      `Peak RSS growth: the most a large-transfer process grew above its RSS after start-up and one warm-up request; ${partSize / MiB} MiB parts × ${queueSize} in flight on both sides.`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
    raw.destroy();
    driver.client.destroy();
    unique.client.destroy();
    await server.stop();
  }
}

const largeTaskName = process.env.BENCH_LARGE_TASK as LargeTask | undefined;
(largeTaskName ? largeTask(largeTaskName, JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as S3StorageOptions).then((result) => console.log(JSON.stringify(result))) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
