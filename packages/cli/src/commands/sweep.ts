/**
 * `filefield sweep`: run the sweeper until nothing is due and print what it did; exit 1 when a
 * deletion failed (the sweeper retries it with backoff). `--watch` sweeps again every interval
 * until SIGINT or SIGTERM, which let the pass under way finish (its batch is recorded) and exit 0.
 */
import type { FileSweeper, SweepReport } from '@filefield/core';
import { formatDuration } from '../duration';
import { print, printJson, warn, warnOncePerMessage } from '../output';
import { startProgress } from '../progress';
import type { Session } from '../session';

export interface SweepOptions {
  watch?: boolean;
  interval: number;
  json?: boolean;
  verbose?: boolean;
}

/** More passes than this in one sweep means work arrives as fast as it is done: the next sweep goes on. */
const MAX_PASSES = 1000;

export async function sweepCommand(session: Session, options: SweepOptions): Promise<number> {
  const sweeper = session.sweeper(warnOncePerMessage(options.verbose ?? false));
  if (!options.watch) {
    const report = await sweepUntilIdle(sweeper, () => false, !options.json);
    if (options.json) printJson(report);
    else print(describeReport(report));
    return finish(report, options);
  }

  const stop = stopSignal();
  warn(`sweeping every ${formatDuration(options.interval)} until SIGINT or SIGTERM`);
  try {
    while (!stop.requested) {
      const report = await sweepUntilIdle(sweeper, () => stop.requested, false);
      if (report.deleted + report.kept + report.failed > 0) {
        if (options.json) print(JSON.stringify({ at: new Date().toISOString(), ...report }));
        else print(`${new Date().toISOString()} ${describeReport(report)}`);
      }
      await stop.sleep(options.interval);
    }
  } finally {
    stop.dispose();
  }
  warn(`stopped (${stop.signal})`);
  return 0;
}

/** Passes, one batch each, until one settles nothing or `stopping()` says so between batches. */
async function sweepUntilIdle(sweeper: FileSweeper, stopping: () => boolean, showProgress: boolean): Promise<SweepReport> {
  const total: SweepReport = { checked: 0, deleted: 0, kept: 0, failed: 0, deferred: 0, passes: 0 };
  const progress = showProgress ? startProgress('sweeping {bar} {value} files settled ({deleted} deleted, {failed} failed)', 0, { deleted: 0, failed: 0 }) : undefined;
  try {
    while (total.passes < MAX_PASSES && !stopping()) {
      const pass = await sweeper.sweep({ maxPasses: 1 });
      total.passes += 1;
      total.checked += pass.checked;
      total.deleted += pass.deleted;
      total.kept += pass.kept;
      total.failed += pass.failed;
      total.deferred = pass.deferred; // What the last pass left is what is still waiting.
      progress?.update(total.deleted + total.kept + total.failed, { deleted: total.deleted, failed: total.failed });
      if (pass.deleted + pass.kept + pass.failed === 0) break;
    }
  } finally {
    progress?.stop();
  }
  return total;
}

export function describeReport(report: SweepReport): string {
  return (
    `swept: ${report.deleted} deleted, ${report.kept} kept, ${report.failed} failed, ${report.deferred} deferred ` +
    `(${report.checked} checked in ${report.passes} pass${report.passes === 1 ? '' : 'es'})`
  );
}

/** Exit code of a one-off sweep: 1 when deletions failed. */
export function finish(report: SweepReport, options: { json?: boolean }): number {
  if (report.failed === 0) return 0;
  if (!options.json) warn(`${report.failed} deletion(s) failed; the sweeper retries them with backoff (\`filefield ledger status\` lists them).`);
  return 1;
}

interface StopSignal {
  readonly requested: boolean;
  readonly signal: string | undefined;
  /** Wait `ms`, or less when a signal comes. */
  sleep(ms: number): Promise<void>;
  dispose(): void;
}

/** SIGINT/SIGTERM ask to stop after the pass under way; a second one exits at once (code 130). */
function stopSignal(): StopSignal {
  let signal: string | undefined;
  let wake: (() => void) | undefined;
  const onSignal = (name: NodeJS.Signals) => {
    if (signal !== undefined) {
      warn(`${name} again: exiting without finishing the pass (its files are retried once their lease runs out)`);
      process.exit(130);
    }
    signal = name;
    warn(`${name}: finishing the pass under way, then exiting`);
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return signal !== undefined;
    },
    get signal() {
      return signal;
    },
    sleep(ms) {
      if (signal !== undefined) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
