/**
 * `installFileFields(dataSource)`: the one way to wire filefield into a TypeORM DataSource.
 * Call it after `initialize()`; it checks the entities' file fields and adds the subscriber.
 */
import { ConfigurationError, FileDeletionScheduler } from '@filefield/core';
import type { DataSource, EntityMetadata } from 'typeorm';
import { fileColumnsOf } from './file-columns';
import { isRegistered, registerDataSource, unregisterDataSource } from './managers';
import { DEFAULT_REFERENCE_BATCH_SIZE } from './reference-checker';
import { installHydration } from './hydration';
import { FileFieldSubscriber } from './subscriber';

export interface FileFieldsOptions {
  /**
   * Runs deletions after commit, one batch per storage at a time. Defaults to one scheduler
   * shared by every installation in the process, so DataSources sharing a storage are serialised
   * too. Pass `new FileDeletionScheduler({ onError })` to handle deletion failures yourself
   * (the default logs them with console.warn; a commit never fails because a storage did).
   */
  scheduler?: FileDeletionScheduler;
  /** Names per reference-check query (`WHERE col IN (...)`). Default 500. */
  referenceBatchSize?: number;
  /** Warn once per entity when rows with file fields are deleted without loading them (delete(), QueryBuilder). Default true. */
  warnOnBulkDelete?: boolean;
}

export interface FileFieldsInstallation {
  readonly dataSource: DataSource;
  readonly scheduler: FileDeletionScheduler;
  /** Resolves once no deletion is queued or running (graceful shutdown, tests). */
  idle(): Promise<void>;
  /** Remove the subscriber; FieldFile.save() no longer saves entities through this DataSource. */
  uninstall(): void;
}

/** The scheduler installations share unless given their own. */
export const fileDeletionScheduler = new FileDeletionScheduler();

const KNOWN_OPTIONS = new Set(['scheduler', 'referenceBatchSize', 'warnOnBulkDelete']);

export function installFileFields(dataSource: DataSource, options: FileFieldsOptions = {}): FileFieldsInstallation {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigurationError(`installFileFields: unknown option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')}).`);
  }
  if (!dataSource.isInitialized) {
    throw new ConfigurationError('installFileFields(dataSource) must be called after `await dataSource.initialize()` (TypeORM rebuilds its subscriber list there).');
  }
  if (isRegistered(dataSource)) throw new ConfigurationError('installFileFields: filefield is already installed on this DataSource.');
  const referenceBatchSize = options.referenceBatchSize ?? DEFAULT_REFERENCE_BATCH_SIZE;
  if (!Number.isInteger(referenceBatchSize) || referenceBatchSize < 1) {
    throw new ConfigurationError('installFileFields: referenceBatchSize must be a positive integer.');
  }
  const withFiles = dataSource.entityMetadatas.filter((metadata) => fileColumnsOf(metadata).length > 0);
  for (const metadata of withFiles) checkEntity(metadata);

  const scheduler = options.scheduler ?? fileDeletionScheduler;
  const subscriber = new FileFieldSubscriber({ scheduler, referenceBatchSize, warnOnBulkDelete: options.warnOnBulkDelete ?? true });
  const restoreHydration = withFiles.map(installHydration);
  dataSource.subscribers.push(subscriber);
  registerDataSource(dataSource);
  return {
    dataSource,
    scheduler,
    idle: () => scheduler.idle(),
    uninstall() {
      const index = dataSource.subscribers.indexOf(subscriber);
      if (index >= 0) dataSource.subscribers.splice(index, 1);
      for (const restore of restoreHydration) restore();
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
