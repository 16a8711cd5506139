/**
 * bench/s3/memory: what a 1 GiB transfer through FieldFile costs in memory, and where it goes.
 *
 *   npx tsc -b bench/s3 && node bench/s3/dist/memory.js                 # s3rver in a child process
 *   eval "$(cat /tmp/rgw.env)"; node bench/s3/dist/memory.js            # the FILEFIELD_S3_* server
 *
 * Uploads through `FieldFile.save` (a FileFieldDefinition on an S3Storage, no ORM) from a LocalFile
 * on disk (known size), from a Readable of unknown size (fresh 64 KiB chunks, as a request body
 * arrives), and through `storage.open(name, 'w')` writes of 64 KiB; then downloads the file with
 * `FieldFile.chunks(1 MiB)` and `storage.createReadStream`. Every transfer runs twice, each time in
 * a fresh process (started with --expose-gc; the server is never in it):
 *
 * - "as deployed": memory sampled every 10 ms, nothing forced. RSS is what the OS sees; heap +
 *   arrayBuffers and external are V8's and Node's counts, garbage not yet collected included.
 * - "collected": full GCs before every sample (see `collect`), so the figures are what is still referenced (the
 *   driver's real working set); the RSS of that run shows what glibc keeps besides.
 *
 * Environment: BENCH_MEMORY_MIB (1024), BENCH_PART_MIB (8), BENCH_QUEUE (4), BENCH_CASES (all:
 * localfile,stream,writer,chunks,readstream), BENCH_MODES (natural,collected), BENCH_REPEAT (1:
 * runs per cell; the table shows the largest growth and the fastest time), BENCH_SERVER=s3rver
 * (ignore FILEFIELD_S3_*), BENCH_S3_DIST (another build of @filefield/s3 to load in the children,
 * for before/after comparisons).
 */
import { FieldFile, FileFieldDefinition, LocalFile } from '@filefield/core';
import type { S3Storage as S3StorageClass, S3StorageOptions } from '@filefield/s3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { collectRadosgwGarbage, MiB, startServer } from './shared';

const BYTES = Number(process.env.BENCH_MEMORY_MIB ?? 1024) * MiB;
/** The driver's defaults (transfer.ts) unless set. */
const PART_SIZE = Number(process.env.BENCH_PART_MIB ?? 8) * MiB;
const QUEUE_SIZE = Number(process.env.BENCH_QUEUE ?? 4);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1);
const CHUNK = 64 * 1024;
const ALL_CASES = ['localfile', 'stream', 'writer', 'chunks', 'readstream'] as const;
type Case = (typeof ALL_CASES)[number];
type Mode = 'natural' | 'collected';
const CASES = (process.env.BENCH_CASES?.split(',') ?? ALL_CASES) as Case[];
const MODES = (process.env.BENCH_MODES?.split(',') ?? ['natural', 'collected']) as Mode[];

const LABELS: Record<Case, string> = {
  localfile: 'upload: FieldFile.save(LocalFile)',
  stream: 'upload: FieldFile.save(Readable, size unknown)',
  writer: "upload: storage.open(name, 'w') writes",
  chunks: 'download: FieldFile.chunks(1 MiB)',
  readstream: 'download: storage.createReadStream',
};
interface Task {
  case: Case;
  mode: Mode;
  options: S3StorageOptions;
  localPath: string;
}

interface Result {
  ms: number;
  rss: number;
  heapAndBuffers: number;
  external: number;
  /** heap + arrayBuffers after a full GC once the transfer is over: what it left behind. */
  leftover: number;
}

// ---- the measured child ----

const gc = (globalThis as { gc?: () => void }).gc;

/**
 * Two full collections: V8 frees the backing stores of dead ArrayBuffers (every Buffer over 4 KiB)
 * on a concurrent sweeper after a GC, so right after one `gc()` they still count in arrayBuffers;
 * the next GC waits for that sweep to finish.
 */
function collect(): void {
  gc!();
  gc!();
}

/** Peaks above a baseline taken after two full collections, sampled every 10 ms (after a GC each when `collect`). */
class Sampler {
  private readonly base = process.memoryUsage();
  private readonly peak = { rss: 0, heapAndBuffers: 0, external: 0 };
  private readonly timer = setInterval(() => this.sample(), 10);

  constructor(private readonly collect: boolean) {}

  sample(): void {
    if (this.collect) collect();
    const now = process.memoryUsage();
    this.peak.rss = Math.max(this.peak.rss, now.rss - this.base.rss);
    this.peak.heapAndBuffers = Math.max(this.peak.heapAndBuffers, now.heapUsed + now.arrayBuffers - this.base.heapUsed - this.base.arrayBuffers);
    this.peak.external = Math.max(this.peak.external, now.external - this.base.external);
  }

  stop(): { rss: number; heapAndBuffers: number; external: number; leftover: number } {
    clearInterval(this.timer);
    this.sample();
    collect();
    const after = process.memoryUsage();
    return { ...this.peak, leftover: after.heapUsed + after.arrayBuffers - this.base.heapUsed - this.base.arrayBuffers };
  }
}

/** `total` bytes of fresh 64 KiB chunks, as a network body arrives: each chunk becomes garbage once sent. */
function freshChunks(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(CHUNK, total - sent);
      const chunk = Buffer.allocUnsafe(size).fill((sent / CHUNK) & 0xff);
      sent += size;
      this.push(chunk);
    },
  });
}

function loadStorage(): typeof S3StorageClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(process.env.BENCH_S3_DIST ?? '@filefield/s3') as { S3Storage: typeof S3StorageClass }).S3Storage;
}

async function runTask(task: Task): Promise<Result> {
  if (!gc) throw new Error('run the measured process with --expose-gc');
  const S3Storage = loadStorage();
  const storage = new S3Storage({ ...task.options, location: 'memory', transfer: { partSize: PART_SIZE, concurrency: QUEUE_SIZE } });
  const field = new FileFieldDefinition('Bench', 'file', { storage, maxLength: 255 });
  // Warm-up: one multipart round trip and one download load and compile the SDK's code paths and
  // open connections, so that the baseline is taken after the one-time costs.
  await new FieldFile({}, field, null).save('warmup.bin', freshChunks(PART_SIZE + CHUNK), { save: false });
  for await (const chunk of new FieldFile({}, field, 'warmup.bin').chunks(MiB)) void chunk;
  collect();
  const sampler = new Sampler(task.mode === 'collected');
  const start = process.hrtime.bigint();
  let bytes = BYTES;
  if (task.case === 'localfile') {
    await new FieldFile({}, field, null).save('localfile.bin', new LocalFile(task.localPath), { save: false });
  } else if (task.case === 'stream') {
    await new FieldFile({}, field, null).save('stream.bin', freshChunks(BYTES), { save: false });
  } else if (task.case === 'writer') {
    const file = storage.open('writer.bin', 'w');
    for (let sent = 0; sent < BYTES; sent += CHUNK) await file.write(Buffer.allocUnsafe(CHUNK).fill((sent / CHUNK) & 0xff));
    await file.close();
  } else if (task.case === 'chunks') {
    bytes = 0;
    for await (const chunk of new FieldFile({}, field, 'localfile.bin').chunks(MiB)) bytes += chunk.byteLength;
  } else {
    bytes = 0;
    for await (const chunk of await storage.createReadStream('localfile.bin')) bytes += (chunk as Buffer).byteLength;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const memory = sampler.stop();
  if (bytes !== BYTES) throw new Error(`${task.case} moved ${bytes} bytes, expected ${BYTES}`);
  await storage.delete('warmup.bin');
  // Only the LocalFile upload's object is read later; radosgw's RAM store would not hold them all.
  if (task.case === 'stream' || task.case === 'writer') await storage.delete(`${task.case}.bin`);
  storage.client.destroy();
  return { ms, ...memory };
}

// ---- the parent ----

async function measure(task: Task): Promise<Result> {
  const child = spawn(process.execPath, ['--expose-gc', __filename], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_MEMORY_TASK: JSON.stringify(task) },
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => {
    output += data.toString();
  });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`${task.case} (${task.mode}) failed (exit ${code})`);
  return JSON.parse(output.trim().split('\n').pop()!) as Result;
}

async function writeLocalFile(path: string, total: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = Buffer.alloc(MiB);
  for (let sent = 0; sent < total; sent += MiB) {
    chunk.fill((sent / MiB) & 0xff);
    if (!out.write(Buffer.from(chunk).subarray(0, Math.min(MiB, total - sent)))) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  // The SDK's notice that Node 20 support ends would be printed by every child.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startServer('filefield-memory');
  const scratch = await mkdtemp(join(tmpdir(), 'filefield-memory-'));
  const localPath = join(scratch, 'localfile.bin');
  const rows: string[] = [];
  try {
    await writeLocalFile(localPath, BYTES);
    const results = new Map<string, Result[]>();
    // Every mode runs every case before the next repetition, so drift on a busy machine spreads over all cells.
    for (let round = 0; round < REPEAT; round += 1) {
      for (const mode of MODES) {
        // The downloads read the LocalFile upload's object: it goes first whatever BENCH_CASES says.
        const cases = CASES.some((name) => name === 'chunks' || name === 'readstream') && !CASES.includes('localfile') && round === 0 && mode === MODES[0]
          ? (['localfile', ...CASES] as Case[])
          : CASES;
        for (const name of cases) {
          const result = await measure({ case: name, mode, options: server.options, localPath });
          // radosgw keeps deleted and replaced GiB in its RAM store until its GC.
          if (name === 'localfile' || name === 'stream' || name === 'writer') await collectRadosgwGarbage();
          const key = `${name}/${mode}`;
          results.set(key, [...(results.get(key) ?? []), result]);
        }
      }
    }
    for (const name of CASES) {
      const natural = results.get(`${name}/natural`) ?? [];
      const collected = results.get(`${name}/collected`) ?? [];
      const worst = (list: Result[], field: keyof Result) => (list.length === 0 ? '' : mib(Math.max(...list.map((result) => result[field]))));
      const fastest = natural.length === 0 ? undefined : Math.min(...natural.map((result) => result.ms));
      rows.push(
        `| ${LABELS[name]} | ${fastest === undefined ? '' : `${(fastest / 1000).toFixed(2)} s (${((BYTES / MiB) / (fastest / 1000)).toFixed(0)} MiB/s)`} | ` +
          `${worst(natural, 'rss')} | ${worst(natural, 'heapAndBuffers')} | ${worst(natural, 'external')} | ` +
          `${worst(collected, 'heapAndBuffers')} | ${worst(collected, 'rss')} | ${worst(collected, 'leftover')} |`,
      );
    }
    console.log(
      [
        `${BYTES / MiB} MiB through FieldFile on ${server.label}; Node ${process.version}; parts ${PART_SIZE / MiB} MiB × ${QUEUE_SIZE} in flight` +
          `${process.env.MALLOC_ARENA_MAX ? `; MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}` : ''}${process.env.BENCH_S3_DIST ? `; @filefield/s3 from ${process.env.BENCH_S3_DIST}` : ''}; ` +
          `each cell a fresh process${REPEAT > 1 ? `, worst of ${REPEAT} (time: best)` : ''}; growth in MiB above the level after warm-up and a full GC`,
        '',
        '| transfer | time | RSS | heap + arrayBuffers | external | live (GC before each sample) | RSS (GC before each sample) | left after |',
        '|---|---:|---:|---:|---:|---:|---:|---:|',
        ...rows,
      ].join('\n'),
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await server.stop();
  }
}

const task = process.env.BENCH_MEMORY_TASK;
(task ? runTask(JSON.parse(task) as Task).then((result) => console.log(JSON.stringify(result))) : main()).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
