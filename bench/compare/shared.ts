/**
 * What the driver (run.ts) and the column processes (raw-column.ts, filefield-column.ts and
 * django_bench.py) agree on: the configuration a column gets in BENCH_COLUMN (JSON) and the one
 * JSON line it prints last on stdout. django_bench.py speaks the same shapes by hand.
 */
import type { RequestLog } from '@filefield/s3/testing';

export const STEPS = ['same-name', 'distinct', 'upload', 'read', 'delete'] as const;
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
  /** Whether the server honours `If-None-Match: *` (the raw column's renaming depends on it). */
  conditionalWrites: boolean;
}

export interface StepResult {
  step: StepId;
  ms: number;
  /** HTTP requests sent (every attempt), by method. */
  requests: Record<string, number>;
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

/** Time `work` and take the requests it sent from `log` (which is reset first). */
export async function step(id: StepId, log: RequestLog, work: () => Promise<void>): Promise<StepResult> {
  log.reset();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  return { step: id, ms, requests: byMethod(log) };
}

/** The one line the driver parses; anything else the column prints goes to stderr. */
export function emit(result: ColumnResult): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function fail(error: unknown): void {
  console.error(error);
  process.exitCode = 1;
}
