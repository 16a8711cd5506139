/**
 * Loading cost of @FileField columns: 10k rows with two file fields against the same rows with two
 * plain varchar columns (TypeORM alone, no filefield on that DataSource). Target: ≤ 1.15.
 *
 *   npx tsc -b bench/typeorm && node --expose-gc bench/typeorm/dist/main.js [--instructions]
 *
 * Default: wall-clock time, the two variants alternating, BENCH_ITERATIONS (60) pairs after 10
 * warm-up pairs, per scenario; the ratio is the median of the pairs' ratios. On a busy machine
 * wall-clock numbers wander; then
 * `--instructions` counts CPU instructions instead, under valgrind's callgrind with V8 made
 * deterministic (--predictable, fixed seeds, no ASLR): per load = (run with N loads − run with
 * none) / N; repeatable to ~0.01%, slow (a few minutes). It needs valgrind and setarch.
 *
 * BENCH_ROWS (10000); BENCH_DATABASES (sqlite; add postgres,mariadb for real connections, via
 * FILEFIELD_POSTGRES_URL / FILEFIELD_MARIADB_URL). SQLite in memory is the strictest case: the
 * database's share of the time is smallest, so the adapter's is most visible.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROWS, type Scenario, type Variant, openFixture, scenarios } from './fixture';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 60);
const WARMUP = 10;
const INSTRUCTION_LOADS = 5;
const DATABASES = (process.env.BENCH_DATABASES ?? 'sqlite').split(',').map((name) => name.trim()).filter(Boolean);
const collectGarbage = (globalThis as { gc?: () => void }).gc;

const header = [
  '| database | scenario | plain columns | @FileField columns | ratio | ≤ 1.15 |',
  '|---|---|---|---|---|---|',
];

function row(database: string, scenario: Scenario, plain: string, files: string, ratio: number): string {
  return `| ${database} | ${scenario.name} | ${plain} | ${files} | ${ratio.toFixed(3)} | ${ratio <= 1.15 ? 'yes' : 'NO'} |`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall-clock ms of one load; garbage of the previous run is collected first (with --expose-gc). */
async function time(run: () => Promise<unknown>): Promise<number> {
  collectGarbage?.();
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function wallClock(database: string): Promise<string[]> {
  const fixture = await openFixture(database);
  const lines: string[] = [];
  try {
    for (const scenario of Object.values(scenarios)) {
      const samples: Record<Variant, number[]> = { plain: [], files: [] };
      for (let i = 0; i < WARMUP + ITERATIONS; i += 1) {
        // Alternate so drift (GC, JIT, other processes) hits both alike.
        for (const variant of ['plain', 'files'] as const) {
          const elapsed = await time(() => fixture.load(variant, scenario));
          if (i >= WARMUP) samples[variant].push(elapsed);
        }
      }
      const [plain, files] = [samples.plain, samples.files];
      const show = (values: number[]) => `${median(values).toFixed(1)} ms (min ${Math.min(...values).toFixed(1)})`;
      // Each pair ran back to back under the same conditions: the median of their ratios is the
      // estimate least moved by other processes' load.
      lines.push(row(database, scenario, show(plain), show(files), median(files.map((value, i) => value / plain[i]))));
    }
  } finally {
    await fixture.close();
  }
  return lines;
}

async function instructions(database: string): Promise<string[]> {
  const worker = join(__dirname, 'instructions-worker.js');
  const run = async (variant: Variant, scenario: string, count: number): Promise<number> => {
    const args = ['-R', 'valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'];
    args.push(process.execPath, '--predictable', '--hash-seed=1', '--random-seed=1', worker, database, variant, scenario, String(count));
    const { stderr } = await promisify(execFile)('setarch', args, { maxBuffer: 64 * 1024 * 1024 });
    const collected = /Collected : (\d+)/.exec(stderr);
    if (!collected) throw new Error(`callgrind printed no count:\n${stderr.slice(-2000)}`);
    return Number(collected[1]);
  };
  const lines: string[] = [];
  for (const [key, scenario] of Object.entries(scenarios)) {
    const [base, plain, files] = await Promise.all([run('plain', key, 0), run('plain', key, INSTRUCTION_LOADS), run('files', key, INSTRUCTION_LOADS)]);
    const perLoad = (total: number) => (total - base) / INSTRUCTION_LOADS;
    const show = (total: number) => `${(perLoad(total) / 1e6).toFixed(1)} M instr (${(perLoad(total) / ROWS).toFixed(0)}/row)`;
    lines.push(row(database, scenario, show(plain), show(files), perLoad(files) / perLoad(plain)));
  }
  return lines;
}

async function main(): Promise<void> {
  const counting = process.argv.includes('--instructions');
  console.log(`TypeORM: load ${ROWS} rows, two @FileField columns vs two varchar columns; node ${process.version}`);
  console.log(
    counting
      ? `CPU instructions per load under callgrind (${INSTRUCTION_LOADS} loads minus none, deterministic V8)\n`
      : `wall-clock per load: median (min) of ${ITERATIONS} alternating runs after ${WARMUP} warm-up; ratio = median of paired ratios${collectGarbage ? '' : ' (run node with --expose-gc for steadier numbers)'}\n`,
  );
  const lines = [...header];
  for (const database of DATABASES) lines.push(...(counting ? await instructions(database) : await wallClock(database)));
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
