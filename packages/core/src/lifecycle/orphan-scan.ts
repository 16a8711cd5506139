/**
 * The safety net for what no ORM event reports (raw SQL, `ON DELETE CASCADE`, QueryBuilder
 * deletes): list a storage prefix and find the objects that no row names and no upload claims,
 * once they are older than the grace period. A dry run by default; with `delete: true` each
 * orphan becomes a ledger task, so the sweeper deletes it under the same race-free protocol as
 * any other file (a row that names it meanwhile keeps it). Memory stays bounded: the listing is
 * streamed and names are checked in batches.
 */
import type { Storage } from '../storage';
import { fileKey } from './file-key';
import type { FileLedger } from './file-ledger';
import { fileReferences, type ReferenceSources } from './reference-sources';

export interface OrphanScanOptions {
  /** Only objects under this directory ('' for the whole storage). */
  prefix?: string;
  /** Objects modified more recently than this many ms ago are skipped (default: the ledger's grace period). */
  olderThan?: number;
  /** Queue the orphans for deletion (default false: report only). */
  delete?: boolean;
  /** Reference sources to ask (default: every installation in the process). */
  sources?: ReferenceSources;
  /** Names per reference check and ledger query (default 1000). */
  batchSize?: number;
  /** How many orphan names the report lists (default 100; the count is always complete). */
  sampleSize?: number;
  /** Called with every orphan found, e.g. to print it. */
  onOrphan?: (name: string) => void;
  /** The clock's "now", in ms (default the ledger's clock). */
  now?: number;
  /**
   * With `delete: true`, a sweeper to nudge after each queued batch (e.g. an installation's
   * `sweeper`), so that deleting overlaps the rest of the scan instead of waiting for it.
   */
  sweeper?: { nudge(): void };
}

export interface OrphanScanReport {
  /** Objects listed under the prefix. */
  scanned: number;
  /** Skipped: modified within `olderThan`. */
  recent: number;
  /** Skipped: a row names them (or they are a field's default). */
  referenced: number;
  /** Skipped: an upload claims them, or the sweeper is already on them. */
  claimed: number;
  /** Unreferenced and unclaimed objects older than `olderThan`. */
  orphans: number;
  /** Orphans handed to the sweeper (0 in a dry run). */
  queued: number;
  /** The first `sampleSize` orphan names. */
  sample: string[];
}

export async function scanOrphans(storage: Storage, ledger: FileLedger, options: OrphanScanOptions = {}): Promise<OrphanScanReport> {
  const sources = options.sources ?? fileReferences;
  const batchSize = options.batchSize ?? 1000;
  const sampleSize = options.sampleSize ?? 100;
  const now = options.now ?? ledger.clock();
  const cutoff = now - (options.olderThan ?? ledger.gracePeriod);
  const report: OrphanScanReport = { scanned: 0, recent: 0, referenced: 0, claimed: 0, orphans: 0, queued: 0, sample: [] };
  const storageId = storage.id;

  const check = async (names: string[]) => {
    const referenced = await sources.referencedNames(storageId, names);
    const unreferenced = names.filter((name) => !referenced.has(name));
    report.referenced += names.length - unreferenced.length;
    if (unreferenced.length === 0) return;
    const keys = new Map(unreferenced.map((name) => [fileKey(storageId, name), name]));
    const claimedRows = await ledger.rows(ledger.database.autocommit, ledger.statements.claimedNames(storageId, [...keys.keys()], now));
    const claimed = new Set(claimedRows.map((row) => keys.get(String(row.file_key))));
    const orphans = unreferenced.filter((name) => !claimed.has(name));
    report.claimed += unreferenced.length - orphans.length;
    report.orphans += orphans.length;
    for (const name of orphans) {
      if (report.sample.length < sampleSize) report.sample.push(name);
      options.onOrphan?.(name);
    }
    if (options.delete && orphans.length > 0) {
      await ledger.run(ledger.database.autocommit, ledger.statements.forgetTombstones(storageId, orphans.map((name) => fileKey(storageId, name))));
      await ledger.release(ledger.database.autocommit, orphans.map((name) => ({ storage, name })), 'scan');
      report.queued += orphans.length;
      options.sweeper?.nudge();
    }
  };

  let batch: string[] = [];
  for await (const { name, modified } of storage.walk(options.prefix ?? '')) {
    report.scanned += 1;
    if (modified.getTime() > cutoff) {
      report.recent += 1;
      continue;
    }
    batch.push(name);
    if (batch.length >= batchSize) {
      await check(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await check(batch);
  return report;
}
