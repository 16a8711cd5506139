/**
 * The shape of `filefield.config.ts`: how the command line reaches an app's file lifecycle. The
 * CLI knows no ORM: the config opens the app's database through its own adapter (TypeORM's
 * `installFileFields`, Prisma's `fileFields()`), which registers the app's reference sources,
 * and hands back the ledger. The CLI sweeps and scans with them and calls `close()` at the end.
 */
import type { FileLedger, FileSweeperOptions, ReferenceSources, Storage } from '@filefield/core';

/** What `open()` resolves to. */
export interface CliLifecycle {
  /** The installation's ledger: `installFileFields(dataSource).ledger`, `prisma.$fileFields().ledger`. */
  ledger: FileLedger;
  /**
   * Names for `--storage` and the reports (`{ media: mediaStorage }`). Every storage the app's file
   * fields use is reachable by its id anyway; each one named here must be one of them.
   */
  storages?: Record<string, Storage>;
  /** Where the installation registered its reference source, if not the process-wide registry (its `references` option). */
  references?: ReferenceSources;
  /** Close what `open()` opened (uninstall, destroy the DataSource, `$disconnect()`). Called once, also after a failure. */
  close?: () => Promise<void> | void;
}

/** The sweeper options the CLI passes on (its reference sources and error reporting are the CLI's own). */
export type CliSweeperOptions = Omit<FileSweeperOptions, 'sources' | 'onError'>;

export interface FileFieldCliConfig {
  /**
   * Open the app's lifecycle. Install filefield with its in-process sweeper off
   * (`{ sweeper: false }`): the CLI runs the sweeper itself.
   */
  open: () => Promise<CliLifecycle> | CliLifecycle;
  /** Options of the CLI's sweeper (`batchSize`, `deleteTimeout`, `retry`, …). */
  sweeper?: CliSweeperOptions;
}

/** Types a config file's export: `export default defineConfig({ async open() { … } })`. */
export function defineConfig(config: FileFieldCliConfig): FileFieldCliConfig {
  return config;
}
