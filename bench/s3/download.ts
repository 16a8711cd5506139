/**
 * bench/s3/download: the read paths of one large object against the raw SDK, hashing every byte.
 *
 *   npx tsc -b bench/s3 && node bench/s3/dist/download.js                  # s3rver in a child process
 *   eval "$(cat /tmp/rgw.env)"; node bench/s3/dist/download.js             # the FILEFIELD_S3_* server
 *
 * Every case streams the same object and feeds each chunk to sha256 (the digest is checked):
 * raw = GetObject + iterate Body; then `createReadStream`, `open().chunks(1 MiB)` (exact pieces),
 * `open().chunks(1 MiB, { exact: false })` (what arrives, at most 1 MiB) and a `read(1 MiB)` loop.
 * Each filefield transfer is paired with a raw transfer run right before or after it (the order
 * alternates), so both meet the same server and machine state, and the ratio is taken per pair.
 * The table reports medians over the rounds and the spread (min–max) of the per-pair ratios, for
 * the wall time and for this process's CPU time (user + system): on a machine shared with other
 * work the CPU time shows the client's own cost with less noise than the wall time.
 * Transfers run in this process, after a discarded warm-up round, with a full GC before each.
 *
 * Environment: BENCH_DOWNLOAD_MIB (200), BENCH_ROUNDS (7), BENCH_CASES (stream,exact,any,read),
 * BENCH_SERVER=s3rver (ignore FILEFIELD_S3_*).
 *
 * The object is deleted at the end, but radosgw keeps deleted data until its garbage collection
 * runs (hourly by default), and `.ci/radosgw.sh` keeps it in 4 GiB of RAM: back-to-back runs fill
 * it (every write then hangs) unless `radosgw-admin gc process --include-all` runs in between.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { S3Storage } from '@filefield/s3';
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { format, median, MiB, rawClient, spread, startServer } from './shared';

const BYTES = Number(process.env.BENCH_DOWNLOAD_MIB ?? 200) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ALL_CASES = ['stream', 'exact', 'any', 'read'] as const;
type Case = (typeof ALL_CASES)[number];
const CASES = (process.env.BENCH_CASES?.split(',') ?? ALL_CASES) as Case[];
const KEY = 'download.bin';

const LABELS: Record<Case | 'raw', string> = {
  raw: 'raw SDK: GetObject, iterate Body',
  stream: '`createReadStream()`',
  exact: '`open().chunks(1 MiB)` (exact)',
  any: '`open().chunks(1 MiB, { exact: false })`',
  read: '`read(1 MiB)` loop',
};

/** One random MiB repeated, each copy stamped with its index, so that a reordered chunk changes the digest. */
function body(total: number): { stream: Readable; digest: string } {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const blocks: Buffer[] = [];
  for (let offset = 0; offset < total; offset += MiB) {
    const piece = Buffer.from(block.subarray(0, Math.min(MiB, total - offset)));
    piece.writeUInt32BE(offset / MiB, 0);
    hash.update(piece);
    blocks.push(piece);
  }
  return { stream: Readable.from(blocks), digest: hash.digest('hex') };
}

let collector: (() => void) | undefined;
function fullGc(): void {
  if (!collector) {
    setFlagsFromString('--expose-gc');
    collector = runInNewContext('gc') as () => void;
  }
  collector();
  collector();
}

interface Transfer {
  ms: number;
  cpuMs: number;
  chunks: number;
}

async function hashAll(source: AsyncIterable<Uint8Array>, expected: string): Promise<number> {
  const hash = createHash('sha256');
  let chunks = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    chunks += 1;
  }
  const digest = hash.digest('hex');
  if (digest !== expected) throw new Error(`digest mismatch: ${digest} != ${expected}`);
  return chunks;
}

async function main(): Promise<void> {
  const server = await startServer('filefield-bench-dl');
  const raw = rawClient(server.options);
  const driver = new S3Storage({ ...server.options, fileOverwrite: true });
  const { bucket } = server.options;
  try {
    const { stream, digest } = body(BYTES);
    await new Upload({ client: raw, params: { Bucket: bucket, Key: KEY, Body: stream }, partSize: 8 * MiB, queueSize: 2 }).done();

    const run: Record<Case | 'raw', () => Promise<number>> = {
      raw: async () => {
        const response = await raw.send(new GetObjectCommand({ Bucket: bucket, Key: KEY }));
        return hashAll(response.Body as Readable, digest);
      },
      stream: async () => hashAll(await driver.createReadStream(KEY), digest),
      exact: () => hashAll(driver.open(KEY).chunks(MiB), digest),
      any: () => hashAll(driver.open(KEY).chunks(MiB, { exact: false }), digest),
      read: async () => {
        const file = driver.open(KEY);
        const hash = createHash('sha256');
        let chunks = 0;
        for (;;) {
          const piece = await file.read(MiB);
          if (piece.byteLength === 0) break;
          hash.update(piece);
          chunks += 1;
        }
        await file.close();
        if (hash.digest('hex') !== digest) throw new Error('read(1 MiB): digest mismatch');
        return chunks;
      },
    };
    const measure = async (which: Case | 'raw'): Promise<Transfer> => {
      fullGc();
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      const chunks = await run[which]();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const used = process.cpuUsage(cpu);
      return { ms, cpuMs: (used.user + used.system) / 1000, chunks };
    };

    // Warm-up: connections, JIT, the server's cache of the object.
    for (const which of ['raw', ...CASES] as const) await measure(which);

    const times: Record<Case | 'raw', number[]> = { raw: [], stream: [], exact: [], any: [], read: [] };
    const cpuTimes: Record<Case | 'raw', number[]> = { raw: [], stream: [], exact: [], any: [], read: [] };
    const ratios: Record<Case, number[]> = { stream: [], exact: [], any: [], read: [] };
    const cpuRatios: Record<Case, number[]> = { stream: [], exact: [], any: [], read: [] };
    const chunkCounts: Record<Case | 'raw', number> = { raw: 0, stream: 0, exact: 0, any: 0, read: 0 };
    let pair = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      // Rotate the order of the cases too, so no case always follows the same one.
      const order = CASES.map((_, index) => CASES[(index + round) % CASES.length]);
      for (const which of order) {
        const rawFirst = pair % 2 === 0;
        pair += 1;
        const first = await measure(rawFirst ? 'raw' : which);
        const second = await measure(rawFirst ? which : 'raw');
        const [rawRun, caseRun] = rawFirst ? [first, second] : [second, first];
        times.raw.push(rawRun.ms);
        times[which].push(caseRun.ms);
        ratios[which].push(caseRun.ms / rawRun.ms);
        cpuTimes.raw.push(rawRun.cpuMs);
        cpuTimes[which].push(caseRun.cpuMs);
        cpuRatios[which].push(caseRun.cpuMs / rawRun.cpuMs);
        chunkCounts.raw = rawRun.chunks;
        chunkCounts[which] = caseRun.chunks;
      }
    }

    const mib = Math.round(BYTES / MiB);
    const lines = [
      `${mib} MiB download + sha256 on ${server.label}; Node ${process.version}; ${ROUNDS} rounds, each case paired with a raw transfer (order alternating); medians, ratio spread min–max; load average ${loadavg().map((load) => load.toFixed(1)).join(' ')} at the end`,
      '',
      '| read path | wall time | wall / raw | spread | client CPU | CPU / raw | spread | chunks handed out |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      `| ${LABELS.raw} | ${format(median(times.raw))} | 1.00 | | ${format(median(cpuTimes.raw))} | 1.00 | | ${chunkCounts.raw} |`,
      ...CASES.map(
        (which) =>
          `| ${LABELS[which]} | ${format(median(times[which]))} | ${median(ratios[which]).toFixed(2)} | ${spread(ratios[which])} | ` +
          `${format(median(cpuTimes[which]))} | ${median(cpuRatios[which]).toFixed(2)} | ${spread(cpuRatios[which])} | ${chunkCounts[which]} |`,
      ),
      '',
      `Network chunks: ${chunkCounts.raw} for ${mib} MiB (${(BYTES / chunkCounts.raw / 1024).toFixed(1)} KiB on average).`,
    ];
    console.log(lines.join('\n'));
  } finally {
    raw.destroy();
    driver.client.destroy();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
