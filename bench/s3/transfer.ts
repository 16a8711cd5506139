/**
 * bench/s3/transfer: upload settings (part size × parts in flight) against raw lib-storage, to
 * pick the driver's defaults.
 *
 *   npx tsc -b bench/s3 && node bench/s3/dist/transfer.js                 # s3rver in a child process
 *   eval "$(bash .ci/radosgw.sh start)"; node bench/s3/dist/transfer.js   # a fresh radosgw (FILEFIELD_S3_*)
 *
 * One file of random bytes on disk, uploaded by `new Upload()` of @aws-sdk/lib-storage with its
 * defaults (5 MiB parts, 4 in flight; the file as a createReadStream), and by the driver for each
 * configuration: `storage.save(name, new LocalFile(path))` (parts read from the file by range)
 * and, with a `stream:` prefix, the same file as a Readable of unknown size. Each driver upload
 * is paired with a raw upload right before or after it (the order alternates) and the ratio is
 * taken per pair; the table shows medians over the rounds and the spread of the ratios. Between
 * rounds the objects are deleted and radosgw's garbage collection runs (its RAM store is 4 GiB).
 *
 * Environment: BENCH_TRANSFER_MIB (200), BENCH_ROUNDS (5), BENCH_CONFIGS (partMiB x concurrency,
 * comma-separated: 5x2,5x4,8x4,8x8,16x4,stream:8x4), BENCH_SERVER=s3rver (ignore FILEFIELD_S3_*).
 */
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { LocalFile } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { collectRadosgwGarbage, format, median, MiB, rawClient, spread, startServer, writeRandomFile } from './shared';

const BYTES = Number(process.env.BENCH_TRANSFER_MIB ?? 200) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONFIGS = (process.env.BENCH_CONFIGS ?? '5x2,5x4,8x4,8x8,16x4,stream:8x4').split(',').map((spec) => {
  const match = /^(stream:)?(\d+)x(\d+)$/.exec(spec.trim());
  if (!match) throw new Error(`BENCH_CONFIGS: '${spec}' is not <part MiB>x<concurrency> (optionally stream:...)`);
  return { label: spec.trim(), stream: Boolean(match[1]), partSize: Number(match[2]) * MiB, concurrency: Number(match[3]) };
});

interface Timing {
  ms: number;
  cpuMs: number;
}

async function timed(work: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await work();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startServer('filefield-transfer');
  const scratch = await mkdtemp(join(tmpdir(), 'filefield-transfer-'));
  const path = join(scratch, 'upload.bin');
  const raw = rawClient(server.options);
  const { bucket } = server.options;
  const storages = CONFIGS.map(
    (config) => new S3Storage({ ...server.options, location: `driver-${config.label.replace(':', '-')}`, transfer: { partSize: config.partSize, concurrency: config.concurrency } }),
  );
  const partRequests = new Map<string, number>();
  try {
    await writeRandomFile(path, BYTES);
    const rawUpload = () => new Upload({ client: raw, params: { Bucket: bucket, Key: 'raw/upload.bin', Body: createReadStream(path) } }).done();
    const driverUpload = (index: number) => {
      const config = CONFIGS[index];
      const body = config.stream ? Readable.from(createReadStream(path)) : new LocalFile(path);
      return storages[index].save('upload.bin', body);
    };
    const clean = async () => {
      for (;;) {
        const page = await raw.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
        if (keys.length === 0) break;
        await raw.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      }
      await collectRadosgwGarbage();
    };
    // Warm-up: connections, JIT and the page cache of the file.
    await rawUpload();
    for (let index = 0; index < CONFIGS.length; index += 1) {
      const log = recordRequests(storages[index].client);
      await driverUpload(index);
      partRequests.set(CONFIGS[index].label, log.requests.filter((request) => 'partNumber' in request.query).length);
      log.restore();
    }
    await clean();

    const rawTimes: Timing[] = [];
    const times = CONFIGS.map(() => [] as Timing[]);
    const ratios = CONFIGS.map(() => [] as number[]);
    const cpuRatios = CONFIGS.map(() => [] as number[]);
    let pair = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = CONFIGS.map((_, index) => (index + round) % CONFIGS.length);
      for (const index of order) {
        const rawFirst = pair % 2 === 0;
        pair += 1;
        const first = await timed(rawFirst ? rawUpload : () => driverUpload(index));
        const second = await timed(rawFirst ? () => driverUpload(index) : rawUpload);
        const [rawRun, driverRun] = rawFirst ? [first, second] : [second, first];
        rawTimes.push(rawRun);
        times[index].push(driverRun);
        ratios[index].push(driverRun.ms / rawRun.ms);
        cpuRatios[index].push(driverRun.cpuMs / rawRun.cpuMs);
      }
      await clean();
    }

    const mib = Math.round(BYTES / MiB);
    const throughput = (ms: number) => `${(mib / (ms / 1000)).toFixed(0)} MiB/s`;
    const rawMs = median(rawTimes.map((t) => t.ms));
    console.log(
      [
        `${mib} MiB upload from a file on disk, on ${server.label}; Node ${process.version}; ${ROUNDS} rounds, each driver upload paired with a raw one (order alternating); medians, ratio spread min–max; load average ${loadavg().map((load) => load.toFixed(1)).join(' ')} at the end`,
        '',
        '| upload | parts | wall time | driver / raw | spread | client CPU | CPU / raw |',
        '|---|---:|---:|---:|---:|---:|---:|',
        `| raw lib-storage \`new Upload()\` defaults (5 MiB × 4), createReadStream | ${Math.ceil(BYTES / (5 * MiB))} | ${format(rawMs)} (${throughput(rawMs)}) | 1.00 | | ${format(median(rawTimes.map((t) => t.cpuMs)))} | 1.00 |`,
        ...CONFIGS.map((config, index) => {
          const ms = median(times[index].map((t) => t.ms));
          const what = config.stream ? 'Readable of unknown size' : 'LocalFile (ranged parts)';
          return (
            `| driver, ${what}, ${config.partSize / MiB} MiB × ${config.concurrency} | ${partRequests.get(config.label)} | ${format(ms)} (${throughput(ms)}) | ` +
            `${median(ratios[index]).toFixed(2)} | ${spread(ratios[index])} | ${format(median(times[index].map((t) => t.cpuMs)))} | ${median(cpuRatios[index]).toFixed(2)} |`
          );
        }),
      ].join('\n'),
    );
  } finally {
    raw.destroy();
    for (const storage of storages) storage.client.destroy();
    await rm(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
