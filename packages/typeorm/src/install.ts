/**
 * `installFileFields(dataSource)`: the one way to wire filefield into a TypeORM DataSource.
 * Call it after `initialize()`; it checks the entities' file fields, adds the subscriber,
 * registers the DataSource as a reference source, and starts the in-process sweeper.
 */
import { ConfigurationError, type FileLedger, FileLifecycle, type FileLifecycleOptions, type FileSweeper, type SweepReport } from '@filefield/core';
import type { DataSource, EntityMetadata } from 'typeorm';
import { fileColumnsOf } from './file-columns';
import { installHydration } from './hydration';
import { TypeOrmLedgerDatabase } from './ledger-database';
import { type DataSourceLifecycle, isRegistered, registerDataSource, unregisterDataSource } from './managers';
import { TypeOrmReferenceSource } from './reference-source';
import { FileFieldSubscriber } from './subscriber';
import { wrapUpserts } from './upsert';

/** The core's lifecycle options (`gracePeriod`, `sweeper`, `references`, `clock`), and: */
export interface FileFieldsOptions extends FileLifecycleOptions {
  /** Warn once per entity when rows with file fields are deleted without loading them (delete(), QueryBuilder). Default true. */
  warnOnBulkDelete?: boolean;
}

export interface FileFieldsInstallation {
  readonly dataSource: DataSource;
  readonly ledger: FileLedger;
  /** The in-process sweeper (undefined with `sweeper: false`). */
  readonly sweeper: FileSweeper | undefined;
  /** Run the sweeper now until nothing is due (`now` overrides the clock). Works with `sweeper: false` too. */
  sweep(options?: { now?: number }): Promise<SweepReport>;
  /** Resolves once no background sweep is running or about to run. */
  idle(): Promise<void>;
  /** Stop the sweeper, remove the subscriber and the reference source. */
  uninstall(): Promise<void>;
}

const KNOWN_OPTIONS = new Set(['gracePeriod', 'sweeper', 'references', 'clock', 'warnOnBulkDelete']);

export function installFileFields(dataSource: DataSource, options: FileFieldsOptions = {}): FileFieldsInstallation {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigurationError(`installFileFields: unknown option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')}).`);
  }
  if (!dataSource.isInitialized) {
    throw new ConfigurationError('installFileFields(dataSource) must be called after `await dataSource.initialize()` (TypeORM rebuilds its subscriber list there).');
  }
  if (isRegistered(dataSource)) throw new ConfigurationError('installFileFields: filefield is already installed on this DataSource.');
  const withFiles = dataSource.entityMetadatas.filter((metadata) => fileColumnsOf(metadata).length > 0);
  for (const metadata of withFiles) checkEntity(metadata);

  const { warnOnBulkDelete = true, ...lifecycleOptions } = options;
  const files = new FileLifecycle(new TypeOrmLedgerDatabase(dataSource), new TypeOrmReferenceSource(dataSource), lifecycleOptions);
  const { ledger, sweeper: background } = files;
  let subscriber: FileFieldSubscriber | undefined;
  const sqlite = ledger.database.dialect === 'sqlite';
  const lifecycle: DataSourceLifecycle = {
    ledger,
    changes: files.changes,
    sweeper: background,
    claimed(file) {
      if (!sqlite) return;
      const runner = dataSource.createQueryRunner(); // SQLite: the one shared runner
      if (runner.isTransactionActive) subscriber?.claimedInTransaction(runner, file);
    },
  };
  subscriber = new FileFieldSubscriber({ lifecycle, warnOnBulkDelete });
  const restoreHydration = withFiles.map(installHydration);
  const restoreUpserts = wrapUpserts(dataSource, (runner, files) => subscriber!.releaseReplaced(runner, files));
  dataSource.subscribers.push(subscriber);
  registerDataSource(dataSource, lifecycle);
  return {
    dataSource,
    ledger,
    sweeper: background,
    sweep: (sweepOptions) => files.sweep(sweepOptions),
    idle: () => files.idle(),
    async uninstall() {
      await files.stop();
      const index = dataSource.subscribers.indexOf(subscriber);
      if (index >= 0) dataSource.subscribers.splice(index, 1);
      for (const restore of restoreHydration) restore();
      restoreUpserts();
      unregisterDataSource(dataSource);
    },
  };
}

/** Refuse what filefield cannot handle, at startup rather than on the first save. */
function checkEntity(metadata: EntityMetadata): void {
  const columns = fileColumnsOf(metadata);
  for (const { column, field } of columns) {
    if (column.embeddedMetadata) {
      throw new ConfigurationError(`${field.label}: @FileField inside an embedded entity is not supported; declare it on ${metadata.name} itself.`);
    }
  }
  if (typeof metadata.target !== 'function') return;
  let probe: object;
  try {
    probe = new (metadata.target as new () => object)();
  } catch {
    return; // A constructor that needs arguments: TypeORM itself hydrates without calling it.
  }
  for (const { field } of columns) {
    const own = Object.getOwnPropertyDescriptor(probe, field.property);
    if (own && 'value' in own) {
      throw new ConfigurationError(
        `${field.label}: instances get an own '${field.property}' property that hides the FieldFile accessor ` +
          '(a class field emitted under useDefineForClassFields, the default for target ES2022+). Set ' +
          '"useDefineForClassFields": false in tsconfig.json, or declare the property with `declare` ' +
          `(@FileField(...) declare ${field.property}: FieldFile), and do not initialise it.`,
      );
    }
  }
}
