/**
 * bench/s3/interleaved: the driver against the raw SDK on one server, call by call, so that a
 * machine whose speed drifts (other work, a VM host's steal) slows every variant alike.
 *
 *   npm run bench:interleaved      (tsc -b bench/s3 && node bench/s3/dist/interleaved.js)
 *
 * Small saves: BENCH_SAVES (300) distinct 1 KiB objects per round; each save runs every variant
 * once, in an order rotated per save: a plain PutObject (what an overwriting save sends), a
 * PutObject with `If-None-Match: *`, and `S3Storage.save` with unique names (the conditional PUT
 * plus the driver's write token and its own code). Reads: one BENCH_BIG_MIB (200) MiB object read
 * whole with sha256 by each variant in turn: the raw GetObject body, `chunks(1 MiB, { exact:
 * false })` and `createReadStream()`. BENCH_ROUNDS (5) rounds; the table gives each variant's
 * median round and its ratio to the first variant of its group, per round (min–max).
 *
 * Server: FILEFIELD_S3_* (e.g. radosgw from `.ci/radosgw.sh start`), else s3rver in a child
 * process (which ignores If-None-Match: its conditional PUT is a plain one).
 */
import { PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { S3Storage } from '@filefield/s3';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { interleave, median, MiB, rawClient, sha256, startServer, type Variant } from './shared';

const SAVES = Number(process.env.BENCH_SAVES ?? 300);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

function rows(group: string, variants: Variant[], rounds: number[][], unit: (ms: number) => string): string[] {
  return variants.map((variant, index) => {
    const ratios = rounds.map((round) => round[index] / round[0]);
    const ratio = index === 0 ? '1' : `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    return `| ${group} | ${variant.label} | ${unit(median(rounds.map((round) => round[index])))} | ${ratio} |`;
  });
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startServer('interleaved');
  const client = rawClient(server.options);
  const storage = new S3Storage({ ...server.options, fileOverwrite: false });
  const Bucket = server.options.bucket;
  const payload = Buffer.alloc(1024, 0x61);
  const put = (Key: string, IfNoneMatch?: string) => client.send(new PutObjectCommand({ Bucket, Key, Body: payload, ContentType: 'text/plain', IfNoneMatch }));
  const saves: Variant[] = [
    { label: 'PutObject (overwrites)', run: (round, i) => put(`plain/${round}-${i}.txt`) },
    { label: 'PutObject, If-None-Match: *', run: (round, i) => put(`conditional/${round}-${i}.txt`, '*') },
    { label: '`S3Storage.save`, unique names', run: (round, i) => storage.save(`driver/${round}-${i}.txt`, payload) },
  ];

  const big = await storage.save('big.bin', randomBytes(BIG_MIB * MiB));
  const reads: Variant[] = [
    { label: 'GetObject body', run: async () => sha256((await client.send(new GetObjectCommand({ Bucket, Key: big }))).Body as Readable) },
    { label: '`chunks(1 MiB, { exact: false })`', run: () => sha256(storage.open(big).chunks(MiB, { exact: false })) },
    { label: '`createReadStream()`', run: async () => sha256(await storage.createReadStream(big)) },
  ];

  // One unmeasured round of each: connections, code paths and the JIT warm.
  await interleave(saves, -1, 20);
  await interleave(reads, -1, 1);
  const saveRounds: number[][] = [];
  const readRounds: number[][] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    saveRounds.push(await interleave(saves, round, SAVES));
    readRounds.push(await interleave(reads, round, 1));
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`);
  }

  console.log(`### bench/s3/interleaved on ${server.label}: ${ROUNDS} rounds, median round; ratio to the first row of its group, per round (min–max)\n`);
  console.log('| group | variant | median round | ratio |');
  console.log('|---|---|---:|---:|');
  for (const line of rows(`${SAVES} distinct 1 KiB saves`, saves, saveRounds, (ms) => `${((ms / SAVES) * 1000).toFixed(0)} µs per save`)) console.log(line);
  for (const line of rows(`read ${BIG_MIB} MiB + sha256`, reads, readRounds, (ms) => `${ms.toFixed(0)} ms`)) console.log(line);
  client.destroy();
  storage.client.destroy();
  await server.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
