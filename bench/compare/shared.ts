/**
 * What the driver (run.ts) and the column processes (raw-column.ts, filefield-column.ts and
 * django_bench.py) agree on: the configuration a column gets in BENCH_COLUMN (JSON), the gate
 * line it prints before each step, and the one JSON line it prints last on stdout.
 * django_bench.py speaks the same shapes by hand.
 */
import type { RequestLog } from '@filefield/s3/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';

export const STEPS = ['same-name', 'distinct', 'distinct-safe', 'upload', 'read', 'delete', 'orphans', 'url-presigned', 'url-custom'] as const;
export type StepId = (typeof STEPS)[number];

export interface ColumnConfig {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Key prefix of this column in this round: columns never see each other's objects. */
  prefix: string;
  /** Saves in steps 1 and 2. */
  saves: number;
  /** Bytes per small save. */
  smallBytes: number;
  bigFile: string;
  bigSha256: string;
  /** A smaller multipart-sized file for the warm-up pass. */
  warmFile: string;
  warmSha256: string;
  warmSaves: number;
  chunkBytes: number;
  /**
   * Objects no row names, put under `<prefix>/orphans/` (and `<prefix>/warm-orphans/` for the
   * warm-up pass) by the driver before the column starts: step 6 finds and deletes them.
   */
  orphans: number;
  warmOrphans: number;
  /** url() calls in each of steps 7 and 8. */
  urlCalls: number;
  /** The custom domain of step 8 (no request is made to it). */
  customDomain: string;
  /** Whether the server honours `If-None-Match: *` (the raw column's renaming depends on it). */
  conditionalWrites: boolean;
}

export interface StepResult {
  step: StepId;
  ms: number;
  /** HTTP requests sent (every attempt), by method. */
  requests: Record<string, number>;
  /** Peak RSS during the step minus RSS at its start, in bytes (Linux's VmHWM, reset at the start). */
  rssGrowth: number;
}

export interface ColumnResult {
  column: string;
  steps: StepResult[];
  versions?: Record<string, string>;
}

export function columnConfig(): ColumnConfig {
  const raw = process.env.BENCH_COLUMN;
  if (!raw) throw new Error('BENCH_COLUMN (JSON) is not set: this file is run by bench/compare/dist/run.js');
  return JSON.parse(raw) as ColumnConfig;
}

export function byMethod(log: RequestLog): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of log.requests) counts[request.method] = (counts[request.method] ?? 0) + 1;
  return counts;
}

let driver: { lines: Interface; next: AsyncIterator<string> } | undefined;

/**
 * Wait for the driver's turn: print `{"gate": id}` and read one line from stdin. The driver lets
 * one column at a time through a gate and waits for it at its next one, so each column measures
 * a step alone, right after the other columns' same step, and whatever it does between two steps
 * (unmeasured setup for the next) is over before another column measures.
 */
async function gate(id: StepId): Promise<void> {
  if (!driver) {
    const lines = createInterface({ input: process.stdin });
    driver = { lines, next: lines[Symbol.asyncIterator]() };
  }
  process.stdout.write(`${JSON.stringify({ gate: id })}\n`);
  if ((await driver.next.next()).done) throw new Error(`bench/compare: the driver closed stdin before step ${id}`);
}

/** At the driver's go, time `work` and take the requests it sent from `log` (which is reset first). */
export async function step(id: StepId, log: RequestLog, work: () => Promise<void>): Promise<StepResult> {
  await gate(id);
  log.reset();
  const baseline = resetPeakRss();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  return { step: id, ms, requests: byMethod(log), rssGrowth: peakRss() - baseline };
}

/**
 * Linux: writing 5 to /proc/self/clear_refs resets the peak RSS (VmHWM) to the current RSS, so
 * the peak of each step is exact, not sampled (django_bench.py does the same). Returns the RSS.
 */
function resetPeakRss(): number {
  writeFileSync('/proc/self/clear_refs', '5');
  return peakRss();
}

function peakRss(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error('bench/compare measures peak RSS from /proc/self/status (Linux)');
  return Number(match[1]) * 1024;
}

/** The one line the driver parses; anything else the column prints goes to stderr. */
export function emit(result: ColumnResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // Nothing more to read: stdin no longer keeps the process alive.
  driver?.lines.close();
  process.stdin.destroy();
}

export function fail(error: unknown): void {
  console.error(error);
  process.exitCode = 1;
}
