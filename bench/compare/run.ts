/**
 * bench/compare: django-storages, the raw AWS SDK and filefield side by side, in one run.
 *
 *   npm run bench:compare          # = tsc -b bench/compare && node bench/compare/dist/run.js
 *
 * Nine steps per column: (1) N saves of one name (unique renaming), (2) N distinct 1 KiB saves,
 * (2b) N more that never replace an object already there (filefield's only kind of save through
 * an adapter; Django's file_overwrite=False; a conditional PUT by hand), their rows and files
 * then removed unmeasured, so that step 5 deletes what it always did, (3) a large upload from a file on disk, (4) reading it back in 1 MiB chunks + sha256,
 * (5) deleting the 2N + 1 files and their rows until the files are gone from the bucket,
 * (6) finding and deleting 10,000 objects no row names (put there by this driver before the
 * column starts, not measured), (7) 10,000 presigned URLs and (8) 10,000 custom-domain URLs.
 * Every column keeps each file's name in a row of an SQLite table (in memory):
 *   - django-storages 1.13: a Django model with a FileField (django_bench.py, Debian's packages);
 *   - raw SDK: @aws-sdk/client-s3 + @aws-sdk/lib-storage by hand, the key in a plain varchar
 *     column of a TypeORM entity (raw-column.ts);
 *   - filefield: a TypeORM entity with @FileField(), the S3 driver (filefield-column.ts).
 *
 * Each server gets BENCH_ROUNDS rounds; every round starts a fresh server (radosgw keeps objects,
 * and deleted ones until its garbage collection, in a 4 GiB RAM store that repeated large uploads
 * would fill) and the three columns' processes, each with its own key prefix. The columns take
 * each step in turn, one at a time (a gate before every step: shared.ts), in an order rotated at
 * every step and every round: the same step of the three columns runs within seconds, each alone
 * on the machine and on the server, so the machine's drift (other work, a VM host's steal) falls
 * on them alike, and the table's ratios are the median of the rounds' ratios. Each column makes an
 * unmeasured warm-up pass first (the same steps with 10 saves and a 20 MiB file, gated too) so
 * that connections, code paths and the JIT are warm. Requests are counted in the clients (Node:
 * recordRequests on the handler; boto3: the before-send event).
 *
 * Environment: BENCH_SERVERS (radosgw,s3rver), BENCH_ROUNDS (6), BENCH_SAVES (300),
 * BENCH_BIG_MIB (200), BENCH_ORPHANS (10000 on radosgw), BENCH_S3RVER_ORPHANS (1000: s3rver answers
 * 500 to listing and deleting 10,000 keys, and takes minutes for Django's 10,000 DELETEs),
 * BENCH_URLS (10000), BENCH_PYTHON (/usr/bin/python3: Debian's python3-django,
 * python3-django-storages, python3-boto3), BENCH_JSON (a path for the raw per-round results).
 * radosgw comes from `.ci/radosgw.sh start` (its own ports and directory, stopped after each
 * round); when it cannot start, FILEFIELD_S3_ENDPOINT's server is used with a fresh bucket per
 * round and the table says so. s3rver runs in-process (a worker thread of this driver).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startS3rver } from '@filefield/s3/testing';
import pLimit from 'p-limit';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { type ColumnConfig, type ColumnResult, STEPS, type StepId } from './shared';

const execFileAsync = promisify(execFile);
const ROOT = resolve(__dirname, '..', '..', '..');
const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SAVES = Number(process.env.BENCH_SAVES ?? 300);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 200);
const SERVERS = (process.env.BENCH_SERVERS ?? 'radosgw,s3rver').split(',').map((name) => name.trim()).filter(Boolean);
const PYTHON = process.env.BENCH_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const ORPHANS: Record<string, number> = {
  radosgw: Number(process.env.BENCH_ORPHANS ?? 10_000),
  s3rver: Number(process.env.BENCH_S3RVER_ORPHANS ?? 1_000),
};
const URLS = Number(process.env.BENCH_URLS ?? 10_000);
const SMALL_BYTES = 1024;
const WARM = { saves: 10, mib: 20, orphans: 50 };
const CUSTOM_DOMAIN = 'cdn.example.com';

type Column = 'django' | 'raw' | 'filefield';
const ALL_COLUMNS: Column[] = ['django', 'raw', 'filefield'];
const COLUMN_TITLES: Record<Column, string> = { django: 'django-storages', raw: 'raw SDK', filefield: 'filefield' };

interface Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

interface RoundServer extends Endpoint {
  bucket: string;
  /** How this round's server came about (a fresh one, or the shared one as a fallback). */
  origin: string;
  stop(): Promise<void>;
}

function client(server: Endpoint): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function startRadosgw(round: number): Promise<RoundServer> {
  const bucket = `compare-${Date.now().toString(36)}`;
  try {
    const { stdout } = await execFileAsync('bash', [join(ROOT, '.ci', 'radosgw.sh'), 'start'], { cwd: ROOT, maxBuffer: 16 * MiB });
    const env = Object.fromEntries([...stdout.matchAll(/(FILEFIELD_\w+)=(\S+)/g)].map((match) => [match[1], match[2]]));
    const directory = env.FILEFIELD_RADOSGW_DIR;
    const server: Endpoint = {
      endpoint: env.FILEFIELD_S3_ENDPOINT,
      region: env.FILEFIELD_S3_REGION ?? 'us-east-1',
      accessKeyId: env.FILEFIELD_S3_ACCESS_KEY_ID,
      secretAccessKey: env.FILEFIELD_S3_SECRET_ACCESS_KEY,
    };
    // radosgw.sh picks free random ports, but a shared server must never be the one we stop.
    if (server.endpoint === process.env.FILEFIELD_S3_ENDPOINT) throw new Error(`radosgw.sh started on the shared endpoint ${server.endpoint}`);
    const stop = async () => {
      await execFileAsync('bash', [join(ROOT, '.ci', 'radosgw.sh'), 'stop', directory], { cwd: ROOT });
    };
    try {
      await client(server).send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (error) {
      await stop();
      throw error;
    }
    return { ...server, bucket, origin: `fresh radosgw at ${server.endpoint}`, stop };
  } catch (error) {
    const shared = process.env.FILEFIELD_S3_ENDPOINT;
    if (!shared) throw error;
    console.error(`round ${round}: a fresh radosgw did not start (${String(error).split('\n')[0]}); using ${shared} with a fresh bucket`);
    const server: Endpoint = {
      endpoint: shared,
      region: process.env.FILEFIELD_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.FILEFIELD_S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: process.env.FILEFIELD_S3_SECRET_ACCESS_KEY ?? '',
    };
    await client(server).send(new CreateBucketCommand({ Bucket: bucket }));
    return { ...server, bucket, origin: `the shared server ${shared} (fresh bucket)`, stop: () => removeBucket(server, bucket) };
  }
}

async function startS3rverServer(): Promise<RoundServer> {
  const handle = await startS3rver();
  const options = handle.storageOptions();
  return {
    endpoint: handle.endpoint,
    region: options.region ?? 'us-east-1',
    accessKeyId: options.accessKeyId!,
    secretAccessKey: options.secretAccessKey!,
    bucket: handle.bucket,
    origin: 'fresh s3rver (in-process worker thread)',
    stop: () => handle.stop(),
  };
}

async function removeBucket(server: Endpoint, bucket: string): Promise<void> {
  const s3 = client(server);
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const Objects = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (Objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  s3.destroy();
}

/** Whether the server answers 412 to a PUT with If-None-Match: * on an existing key. */
async function honoursConditionalWrites(server: RoundServer): Promise<boolean> {
  const s3 = client(server);
  const Key = 'compare-probe';
  await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body: 'x' }));
  let honoured = false;
  try {
    await s3.send(new PutObjectCommand({ Bucket: server.bucket, Key, Body: 'x', IfNoneMatch: '*' }));
  } catch (error) {
    honoured = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412;
    if (!honoured) throw error;
  }
  await s3.send(new DeleteObjectCommand({ Bucket: server.bucket, Key }));
  s3.destroy();
  return honoured;
}

async function countObjects(server: RoundServer, prefix: string): Promise<number> {
  const s3 = client(server);
  const page = await s3.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${prefix}/` }));
  s3.destroy();
  return page.KeyCount ?? page.Contents?.length ?? 0;
}

/** `count` 1 KiB objects under `<prefix>/<directory>/`, 32 PUTs in flight (setup, not measured). */
async function putOrphans(server: RoundServer, prefix: string, directory: string, count: number): Promise<void> {
  const s3 = client(server);
  const limit = pLimit(32);
  const body = Buffer.alloc(SMALL_BYTES, 0x6f);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limit(() => s3.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}/${directory}/orphan-${i}.txt`, Body: body }))),
    ),
  );
  s3.destroy();
}

/** Random bytes (nothing on the way can compress them), and their sha256. */
async function writeRandomFile(path: string, mib: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    for (let i = 0; i < mib; i += 1) {
      const chunk = randomBytes(MiB);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** What a column process printed last: it waits at a gate, or it is done. */
type ColumnEvent = { gate: StepId } | { result: ColumnResult };

/**
 * One column's process for one round. It prints a gate line before each step and waits for a go
 * on stdin (shared.ts); its last line is its result.
 */
class ColumnProcess {
  private readonly child: ChildProcess;
  private readonly events: ColumnEvent[] = [];
  private waiter: { resolve: (event: ColumnEvent) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;
  private finished = false;
  private output = '';

  constructor(readonly column: Column, config: ColumnConfig) {
    const [command, args] =
      column === 'django' ? [PYTHON, [join(__dirname, '..', 'django_bench.py')]] : [process.execPath, [join(__dirname, `${column}-column.js`)]];
    this.child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, BENCH_COLUMN: JSON.stringify(config), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.line(line));
    this.child.once('error', (error) => this.fail(error));
    this.child.once('exit', (code, signal) => {
      if (code !== 0) this.fail(new Error(`${column} column failed (exit ${code ?? signal})`));
      else this.fail(new Error(`${column} column exited without a result: ${this.output.slice(-500)}`));
    });
  }

  /** The gate the column waits at (or will reach next), or its result. */
  current(): Promise<ColumnEvent> {
    const event = this.events[0];
    if (event) return Promise.resolve(event);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Let the column through the gate it waits at. */
  go(): void {
    this.events.shift();
    this.child.stdin!.write('go\n');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private line(line: string): void {
    this.output += `${line}\n`;
    let event: ColumnEvent;
    try {
      const parsed = JSON.parse(line) as { gate?: StepId; column?: string };
      if (parsed.gate !== undefined) event = { gate: parsed.gate };
      else if (parsed.column !== undefined) event = { result: parsed as ColumnResult };
      else return;
    } catch {
      return;
    }
    if ('result' in event) {
      this.finished = true;
      this.child.stdin!.end();
    }
    this.events.push(event);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(event);
  }

  private fail(error: Error): void {
    if (this.finished) return;
    this.failure ??= error;
    this.waiter?.reject(error);
    this.waiter = undefined;
  }
}

/**
 * One round: every column's process starts, then the columns take each step in turn, one at a
 * time, in an order rotated at every step (and every round), so the same step of the three
 * columns runs within seconds, each alone on the machine and on the server.
 */
async function runRound(columns: Column[], configs: Map<Column, ColumnConfig>, round: number): Promise<Map<Column, ColumnResult>> {
  const workers = columns.map((column) => new ColumnProcess(column, configs.get(column)!));
  const results = new Map<Column, ColumnResult>();
  try {
    for (let turn = 0; results.size < workers.length; turn += 1) {
      const active = workers.filter((worker) => !results.has(worker.column));
      let stepId: StepId | undefined;
      for (let i = 0; i < active.length; i += 1) {
        const worker = active[(i + round + turn) % active.length];
        const event = await worker.current();
        if ('result' in event) {
          results.set(worker.column, event.result);
          continue;
        }
        // Every column runs the same steps in the same order: a mismatch would compare unlike steps.
        if (stepId !== undefined && event.gate !== stepId) throw new Error(`${worker.column} is at step ${event.gate}, the others at ${stepId}`);
        stepId = event.gate;
        worker.go();
        // Its step, and what it does before its next step, end before the next column starts.
        const after = await worker.current();
        if ('result' in after) results.set(worker.column, after.result);
      }
    }
  } finally {
    for (const worker of workers) worker.kill();
  }
  return results;
}

async function pythonProblem(): Promise<string | undefined> {
  try {
    await execFileAsync(PYTHON, ['-c', 'import django, storages.backends.s3boto3, boto3']);
    return undefined;
  } catch (error) {
    const lines = String((error as { stderr?: string }).stderr ?? error).trim().split('\n');
    return `${PYTHON} cannot import django, storages and boto3 (${lines[lines.length - 1]}); apt-get install python3-django python3-django-storages python3-boto3`;
  }
}

interface ServerRun {
  server: string;
  origins: Set<string>;
  conditionalWrites: boolean;
  results: Record<Column, ColumnResult[]>;
  leftovers: string[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function seconds(ms: number, digits = 2): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(digits)} s` : `${ms.toFixed(0)} ms`;
}

function timeCell(values: number[]): string {
  const m = median(values);
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const range = m >= 1000 ? `${(low / 1000).toFixed(2)}–${(high / 1000).toFixed(2)}` : `${low.toFixed(0)}–${high.toFixed(0)}`;
  return `${seconds(m)} (${range})`;
}

/** Median count per method over the rounds, most frequent method first. */
function requestCell(perRound: Array<Record<string, number>>): string {
  const methods = [...new Set(perRound.flatMap((counts) => Object.keys(counts)))];
  const counts = methods
    .map((method) => ({ method, count: Math.round(median(perRound.map((c) => c[method] ?? 0))) }))
    .filter((entry) => entry.count > 0)
    .sort((a, b) => b.count - a.count);
  if (counts.length === 0) return 'no requests';
  const listed = counts.map(({ method, count }) => `${count} ${method}`).join(', ');
  const total = counts.reduce((sum, entry) => sum + entry.count, 0);
  return counts.length === 1 ? listed : `${total} req (${listed})`;
}

const STEP_TITLES: Record<StepId, string> = {
  'same-name': `${SAVES} saves of the same name (unique renaming)`,
  distinct: `${SAVES} distinct ${SMALL_BYTES / 1024} KiB saves`,
  'distinct-safe': `${SAVES} distinct ${SMALL_BYTES / 1024} KiB saves that never replace an existing object`,
  upload: `${BIG_MIB} MiB upload from a file on disk`,
  read: 'read back in 1 MiB chunks + sha256',
  delete: `${2 * SAVES + 1} deletes with their rows (until gone)`,
  orphans: 'objects no row names: find and delete',
  'url-presigned': `${URLS.toLocaleString('en')} presigned \`url()\``,
  'url-custom': `${URLS.toLocaleString('en')} custom-domain \`url()\``,
};

const URL_STEPS: StepId[] = ['url-presigned', 'url-custom'];

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
}

function table(run: ServerRun, columns: Column[]): string {
  const stepValues = (column: Column, id: StepId) => run.results[column].map((result) => result.steps.find((s) => s.step === id)!);
  const ratioColumns = (['raw', 'django'] as Column[]).filter((other) => columns.includes(other) && columns.includes('filefield'));
  const header = ['step', ...columns.map((column) => COLUMN_TITLES[column]), ...ratioColumns.map((other) => `filefield/${other}`)];
  const lines = [`| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`];
  for (const id of STEPS) {
    const cells = columns.map((column) => {
      const steps = stepValues(column, id);
      const time = timeCell(steps.map((s) => s.ms));
      const rss = `+${mib(Math.max(...steps.map((s) => s.rssGrowth)))} RSS`;
      if (URL_STEPS.includes(id)) return `${time}<br>${((median(steps.map((s) => s.ms)) * 1000) / URLS).toFixed(1)} µs per call`;
      return `${time}<br>${requestCell(steps.map((s) => s.requests))}<br>${rss}`;
    });
    // Per round, then the median: a round's columns took the step within seconds of each other.
    const ratios = ratioColumns.map((other) => {
      const theirs = stepValues(other, id);
      const perRound = stepValues('filefield', id).map((s, round) => s.ms / theirs[round].ms);
      return `${median(perRound).toFixed(2)}× (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`;
    });
    const title = id === 'orphans' ? `${ORPHANS[run.server].toLocaleString('en')} ${STEP_TITLES[id]}` : STEP_TITLES[id];
    lines.push(`| ${title} | ${[...cells, ...ratios].join(' | ')} |`);
  }
  return lines.join('\n');
}

async function saveJson(runs: ServerRun[]): Promise<void> {
  if (process.env.BENCH_JSON) await writeFile(process.env.BENCH_JSON, JSON.stringify(runs.map((run) => ({ ...run, origins: [...run.origins] })), null, 2));
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

async function commandVersion(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args);
    return stdout.trim().split('\n')[0];
  } catch {
    return 'not installed';
  }
}

async function main(): Promise<void> {
  // The SDK's notice about Node < 22 would be printed by every column process.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const problem = await pythonProblem();
  const columns = problem ? ALL_COLUMNS.filter((column) => column !== 'django') : ALL_COLUMNS;
  if (problem) console.error(`the django-storages column is skipped: ${problem}`);

  const directory = await mkdtemp(join(os.tmpdir(), 'filefield-compare-'));
  const bigFile = join(directory, 'big.bin');
  const warmFile = join(directory, 'warm.bin');
  const bigSha256 = await writeRandomFile(bigFile, BIG_MIB);
  const warmSha256 = await writeRandomFile(warmFile, WARM.mib);
  const loads: number[] = [];
  const startLoad = os.loadavg();
  const runs: ServerRun[] = [];
  let current: RoundServer | undefined;
  // An interrupted run must not leave a radosgw of ours running (it holds up to 4 GiB of RAM).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping this run's server`);
      void (current?.stop() ?? Promise.resolve()).finally(() => {
        rmSync(directory, { recursive: true, force: true });
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    });
  }

  try {
    for (const serverName of SERVERS) {
      if (serverName !== 'radosgw' && serverName !== 's3rver') throw new Error(`BENCH_SERVERS: unknown server ${serverName}`);
      const run: ServerRun = { server: serverName, origins: new Set(), conditionalWrites: false, results: { django: [], raw: [], filefield: [] }, leftovers: [] };
      runs.push(run);
      for (let round = 1; round <= ROUNDS; round += 1) {
        current = serverName === 'radosgw' ? await startRadosgw(round) : await startS3rverServer();
        const server = current;
        try {
          run.origins.add(server.origin.replace(/ at http:\/\/\S+/, ''));
          run.conditionalWrites = await honoursConditionalWrites(server);
          const configs = new Map<Column, ColumnConfig>();
          for (const column of columns) {
            const prefix = `r${round}-${column}`;
            configs.set(column, {
              endpoint: server.endpoint,
              region: server.region,
              accessKeyId: server.accessKeyId,
              secretAccessKey: server.secretAccessKey,
              bucket: server.bucket,
              prefix,
              saves: SAVES,
              smallBytes: SMALL_BYTES,
              bigFile,
              bigSha256,
              warmFile,
              warmSha256,
              warmSaves: WARM.saves,
              chunkBytes: MiB,
              conditionalWrites: run.conditionalWrites,
              orphans: ORPHANS[serverName],
              warmOrphans: WARM.orphans,
              urlCalls: URLS,
              customDomain: CUSTOM_DOMAIN,
            });
            await putOrphans(server, prefix, 'warm-orphans', WARM.orphans);
            await putOrphans(server, prefix, 'orphans', ORPHANS[serverName]);
          }
          loads.push(os.loadavg()[0]);
          const results = await runRound(columns, configs, round);
          for (const column of columns) {
            const result = results.get(column)!;
            run.results[column].push(result);
            const left = await countObjects(server, configs.get(column)!.prefix);
            if (left > 0) run.leftovers.push(`round ${round}, ${COLUMN_TITLES[column]}: ${left} objects left after the deletes`);
            const summary = result.steps.map((s) => `${s.step} ${seconds(s.ms)}`).join(', ');
            console.error(`${serverName} round ${round}/${ROUNDS} ${column}: ${summary}`);
          }
          // After every round: a run that fails later keeps what it measured.
          await saveJson(runs);
        } finally {
          current = undefined;
          await server.stop();
        }
      }
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }

  const endLoad = os.loadavg();
  await saveJson(runs);
  const versions = runs.flatMap((run) => run.results.django).find((result) => result.versions)?.versions;
  const cpus = os.cpus();
  const out: string[] = [];
  for (const run of runs) {
    out.push(`### bench/compare on ${run.server}: ${[...run.origins].join('; ')}`, '');
    out.push(table(run, columns), '');
    out.push(
      `Median of ${ROUNDS} rounds (min–max in parentheses); ratios: the median of the rounds' ratios (min–max); ` +
        'requests: the median count per method, every attempt counted; ' +
        'RSS: the largest peak growth over the rounds (VmHWM, reset at the start of the step). ' +
        `Server ${run.conditionalWrites ? 'honours' : 'ignores'} If-None-Match: the raw column renames with ` +
        `${run.conditionalWrites ? 'a conditional PUT per candidate' : 'HEAD per candidate, then PUT'}.`,
    );
    out.push(
      'Each column with its library\'s defaults: django-storages renames with AWS_S3_FILE_OVERWRITE=False in step 1 and the never-replacing saves ' +
        '(HEAD per candidate), raw with a conditional PUT per candidate there (HEAD + PUT where the server ignores If-None-Match), ' +
        'both overwrite in the other distinct saves; django-storages uploads through boto3 (8 MiB parts, 10 threads), reading a file downloads it whole (HEAD + ranged GETs) ' +
        'before chunks() cuts it; raw uses `new Upload()` (5 MiB parts, 4 in flight) and hashes the GET body\'s own chunks; ' +
        'filefield saves through FieldFile (a ledger claim per candidate name, then the upload) with the driver\'s defaults ' +
        '(a file on disk: 8 MiB parts read by range, 4 in flight) and reads with `chunks(1 MiB, { exact: false })` (the body\'s own chunks, as raw). ' +
        'Deletes: django `FieldFile.delete(save=False)` + `Model.delete()` per row; raw `remove(rows)`, then DeleteObjects (1,000 keys per request); ' +
        'filefield `repository.remove(rows)`, then the sweep it starts, until it is done. ' +
        'Orphans: django `listdir()`, the rows asked per 1,000 names, `storage.delete()` per orphan; raw a ListObjectsV2 page, ' +
        'the rows asked, one DeleteObjects, page after page; filefield `scanOrphans({ delete: true, olderThan: 0 })` and `sweep()`. ' +
        `URLs: the rows of step 2 in turn; django \`FieldFile.url\` and a storage with AWS_S3_CUSTOM_DOMAIN; raw \`getSignedUrl()\` and a template string; ` +
        'filefield `FieldFile.url()` and a storage with `customDomain`.',
    );
    if (run.leftovers.length > 0) out.push(`Not deleted: ${run.leftovers.join('; ')}.`);
    out.push('');
  }
  out.push(
    `Machine: ${cpus.length} × ${cpus[0]?.model ?? '?'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM; ` +
      `load average (1 min) ${startLoad[0].toFixed(2)} at start, ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} as rounds started, ` +
      `${endLoad[0].toFixed(2)} at the end (the columns take each step in turn, one at a time, in an order rotated every step). ` +
      `Node ${process.version}, @aws-sdk/client-s3 ${packageVersion('@aws-sdk/client-s3')}, lib-storage ${packageVersion('@aws-sdk/lib-storage')}, ` +
      `typeorm ${packageVersion('typeorm')}, better-sqlite3 ${packageVersion('better-sqlite3')}; ` +
      (versions
        ? `Python ${versions.python}, Django ${versions.django}, django-storages ${versions['django-storages']}, boto3 ${versions.boto3} (botocore ${versions.botocore}); `
        : `django-storages column skipped: ${problem}; `) +
      `${await commandVersion('radosgw', ['--version'])}.`,
  );
  console.log(out.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
