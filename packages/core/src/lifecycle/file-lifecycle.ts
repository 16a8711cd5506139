/**
 * One installation's lifecycle, as both adapters start it: the ledger on the adapter's database,
 * the change tracker the adapter's ORM events go through, the adapter registered as a reference
 * source, and the in-process sweeper (unless turned off), stopped together.
 */
import { FileChangeTracker } from './file-changes';
import { FileLedger } from './file-ledger';
import { fileReferences, type ReferenceSource, type ReferenceSources } from './reference-sources';
import type { LedgerDatabase } from './sql';
import { FileSweeper, type FileSweeperOptions, type SweepReport } from './sweeper';

export interface FileLifecycleOptions {
  /**
   * How long an upload may take from its claim to the commit of the row that names it, in ms
   * (default one hour). An upload no committed row names after that is deleted by the sweeper.
   */
  gracePeriod?: number;
  /**
   * The in-process sweeper, which deletes released files in the background: `false` to run none
   * in this process (another process, a job or the CLI sweeps), or its options. `interval` is
   * the time between passes in ms (default 60 s); a commit that released files also starts one.
   */
  sweeper?: false | (FileSweeperOptions & { interval?: number });
  /** Where the installation registers as a reference source (default: the process-wide registry). */
  references?: ReferenceSources;
  /** The clock, in ms since the epoch (tests move it). */
  clock?: () => number;
}

const DEFAULT_SWEEP_INTERVAL = 60_000;

export class FileLifecycle {
  readonly ledger: FileLedger;
  /** What writes do to files: the adapters' ORM events go through it (see file-changes.ts). */
  readonly changes: FileChangeTracker;
  /** The background sweeper (undefined with `sweeper: false`). */
  readonly sweeper: FileSweeper | undefined;
  private readonly sweeperOnDemand: FileSweeper;
  private readonly unregister: () => void;

  constructor(database: LedgerDatabase, source: ReferenceSource, options: FileLifecycleOptions = {}) {
    this.ledger = new FileLedger(database, { gracePeriod: options.gracePeriod, clock: options.clock });
    const references = options.references ?? fileReferences;
    const { interval = DEFAULT_SWEEP_INTERVAL, ...sweeperOptions } = options.sweeper || {};
    this.sweeperOnDemand = new FileSweeper(this.ledger, { ...sweeperOptions, sources: references });
    this.sweeper = options.sweeper === false ? undefined : this.sweeperOnDemand;
    this.changes = new FileChangeTracker({ ledger: this.ledger, nudge: () => this.nudge() });
    this.unregister = references.register(source);
    this.sweeper?.start(interval);
  }

  /** Run the sweeper now until nothing is due (`now` overrides the clock); works with `sweeper: false` too. */
  sweep(options?: { now?: number }): Promise<SweepReport> {
    return this.sweeperOnDemand.sweep(options);
  }

  /** A commit released files: the background sweeper passes soon. */
  nudge(): void {
    this.sweeper?.nudge();
  }

  /** Resolves once no background sweep is running or about to run. */
  idle(): Promise<void> {
    return this.sweeper?.idle() ?? Promise.resolve();
  }

  /** Stop the background sweeper and unregister the reference source. */
  async stop(): Promise<void> {
    await this.sweeper?.stop();
    this.unregister();
  }
}
