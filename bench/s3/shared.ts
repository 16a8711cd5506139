/**
 * What the bench/s3 scripts share: the server (s3rver in a child process, or the FILEFIELD_S3_*
 * one), a raw client configured as a hand-written integration would be, cleanup, radosgw's
 * garbage collection, call-by-call interleaving and small formatting helpers.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3StorageOptions } from '@filefield/s3';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export const MiB = 1024 * 1024;

export interface Server {
  label: string;
  /** A server this run does not own (FILEFIELD_S3_*): only its bucket is ours. */
  external: boolean;
  options: S3StorageOptions;
  /** Empties and removes the bucket (an external server), or stops s3rver. */
  stop(): Promise<void>;
}

/**
 * The FILEFIELD_S3_* server with a fresh bucket (unless BENCH_SERVER=s3rver), else s3rver in a
 * child process: not startS3rver()'s worker thread, whose buffers and event loop would count as
 * the client's.
 */
export async function startServer(prefix: string): Promise<Server> {
  const bucket = `${prefix}-${Date.now().toString(36)}`;
  const endpoint = process.env.BENCH_SERVER === 's3rver' ? undefined : process.env.FILEFIELD_S3_ENDPOINT;
  if (endpoint) {
    const options: S3StorageOptions = {
      bucket,
      endpointUrl: endpoint,
      region: process.env.FILEFIELD_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.FILEFIELD_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.FILEFIELD_S3_SECRET_ACCESS_KEY ?? '',
    };
    const client = rawClient(options);
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      label: process.env.FILEFIELD_S3_SERVER ?? 'external',
      external: true,
      options,
      async stop() {
        await removeBucket(client, bucket).catch((error: unknown) => console.error('cleanup failed:', error));
        client.destroy();
      },
    };
  }
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', `require('@filefield/s3/testing').startS3rver({ bucket: ${JSON.stringify(bucket)} }).then((s) => { console.log(s.endpoint); const alive = setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => s.stop().then(() => { clearInterval(alive); process.exit(0); })); })`],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: __dirname },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return {
    label: 's3rver (child process)',
    external: false,
    options: { bucket, endpointUrl: line.trim(), region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** What a hand-written integration configures for an S3-compatible server. */
export function rawClient(options: S3StorageOptions): S3Client {
  return new S3Client({
    endpoint: options.endpointUrl,
    region: options.region,
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId!, secretAccessKey: options.secretAccessKey! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Delete every object of `bucket`, then the bucket. */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

/**
 * radosgw keeps deleted data until its garbage collection runs, and `.ci/radosgw.sh` stores it
 * in 4 GiB of RAM: benches that write several GiB collect between rounds. Only for a radosgw
 * started by `.ci/radosgw.sh` (FILEFIELD_RADOSGW_DIR set); a no-op otherwise.
 */
export async function collectRadosgwGarbage(): Promise<void> {
  const directory = process.env.FILEFIELD_RADOSGW_DIR;
  if (!directory || process.env.BENCH_SERVER === 's3rver') return;
  await promisify(execFile)('radosgw-admin', ['-c', join(directory, 'ceph.conf'), 'gc', 'process', '--include-all'], { timeout: 120_000 });
}

/** One way of doing a call, run in turn with the others by `interleave`. */
export type Variant = { label: string; run: (round: number, i: number) => Promise<unknown> };

/**
 * Milliseconds per variant for one round of `calls` calls: each call runs every variant once, in
 * an order rotated per call, each timed on its own, so the machine's drift falls on all alike.
 */
export async function interleave(variants: Variant[], round: number, calls: number): Promise<number[]> {
  const totals = variants.map(() => 0);
  for (let i = 0; i < calls; i += 1) {
    for (let k = 0; k < variants.length; k += 1) {
      const index = (k + i) % variants.length;
      const started = performance.now();
      await variants[index].run(round, i);
      totals[index] += performance.now() - started;
    }
  }
  return totals;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function spread(values: number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

export function format(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** The hex sha256 of a stream of chunks, read to the end: what the read benches check. */
export async function sha256(chunks: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk);
  return hash.digest('hex');
}

/** Random bytes on disk, for the LocalFile uploads. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    for (let written = 0; written < bytes; written += MiB) await handle.write(randomBytes(Math.min(MiB, bytes - written)));
  } finally {
    await handle.close();
  }
}
