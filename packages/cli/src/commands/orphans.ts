/**
 * `filefield orphans`: the core's scanOrphans over each storage (or `--storage`), listing the
 * objects no row names and no upload claims, older than `--older-than` (default: the ledger's
 * grace period). A dry run unless `--delete`, which hands the orphans to the sweeper as tasks and
 * sweeps: a row that names one of them meanwhile still keeps it. Orphans are printed as they are
 * found (a large bucket's list streams; no progress bar would fit between its lines).
 */
import { type OrphanScanReport, type SweepReport, scanOrphans } from '@filefield/core';
import { formatDuration } from '../duration';
import { print, printJson, warnOncePerMessage } from '../output';
import type { Session } from '../session';
import { describeReport, finish } from './sweep';

export interface OrphansOptions {
  prefix?: string;
  olderThan?: number;
  storage?: string;
  delete?: boolean;
  json?: boolean;
  verbose?: boolean;
}

/** Orphan names a JSON report carries per storage (text output lists every one). */
const JSON_SAMPLE = 1000;

export async function orphansCommand(session: Session, options: OrphansOptions): Promise<number> {
  const olderThan = options.olderThan ?? session.ledger.gracePeriod;
  const scanned: Array<{ name: string; id: string; report: OrphanScanReport }> = [];
  for (const { name, storage } of session.select(options.storage)) {
    const report = await scanOrphans(storage, session.ledger, {
      prefix: options.prefix ?? '',
      olderThan,
      delete: options.delete ?? false,
      sources: session.references,
      sampleSize: options.json ? JSON_SAMPLE : 0,
      onOrphan: options.json ? undefined : (orphan) => print(`${options.delete ? 'queued' : 'would delete'} ${name}: ${orphan}`),
    });
    scanned.push({ name, id: storage.id, report });
    if (!options.json) {
      print(
        `${name}: ${report.scanned} listed${options.prefix ? ` under '${options.prefix}'` : ''}, ${report.recent} newer than ${formatDuration(olderThan)}, ` +
          `${report.referenced} referenced, ${report.claimed} claimed, ${report.orphans} orphan${report.orphans === 1 ? '' : 's'}`,
      );
    }
  }

  let sweep: SweepReport | undefined;
  if (options.delete) sweep = await session.sweeper(warnOncePerMessage(options.verbose ?? false)).sweep();
  const orphans = scanned.reduce((sum, entry) => sum + entry.report.orphans, 0);
  if (options.json) {
    printJson({
      dryRun: !options.delete,
      olderThan,
      prefix: options.prefix ?? '',
      storages: scanned.map(({ name, id, report }) => ({ name, id, ...report })),
      ...(sweep ? { sweep } : {}),
    });
  } else if (sweep) {
    print(describeReport(sweep));
  } else {
    print(`dry run: nothing deleted${orphans > 0 ? ` (--delete hands the ${orphans} orphan${orphans === 1 ? '' : 's'} to the sweeper)` : ''}`);
  }
  return sweep ? finish(sweep, options) : 0;
}
