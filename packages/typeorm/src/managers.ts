/**
 * Which EntityManager writes an entity when `FieldFile.save()` persists it: the transactional
 * manager it was loaded or saved with while that transaction is open, one bound explicitly with
 * `bindEntityManager`, else the manager of the one installed DataSource that knows its class.
 */
import { ConfigurationError, type FileChangeTracker, type FileLedger, type FileSweeper, type LedgerFile } from '@filefield/core';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { HAS_FILE_FIELDS, existingStateOf, stateOf } from './entity-state';

/** What an installation gives the entities of its DataSource: the ledger, and the in-process sweeper if it runs one. */
export interface DataSourceLifecycle {
  readonly ledger: FileLedger;
  /** The core's change tracker, which the subscriber's events go through. */
  readonly changes: FileChangeTracker;
  readonly sweeper: FileSweeper | undefined;
  /** An upload claimed its name (SQLite: the claim may sit in an open transaction, and go with its rollback). */
  claimed(file: LedgerFile): void;
}

const installedDataSources = new Map<DataSource, DataSourceLifecycle>();

export function registerDataSource(dataSource: DataSource, lifecycle: DataSourceLifecycle): void {
  installedDataSources.set(dataSource, lifecycle);
}

export function unregisterDataSource(dataSource: DataSource): void {
  installedDataSources.delete(dataSource);
}

export function isRegistered(dataSource: DataSource): boolean {
  return installedDataSources.has(dataSource);
}

/** The lifecycle of an installed DataSource (undefined when filefield is not installed on it). */
export function lifecycleOf(dataSource: DataSource): DataSourceLifecycle | undefined {
  return installedDataSources.get(dataSource);
}

/**
 * Make `FieldFile.save()` on this entity's file fields persist it through `manager` — e.g. a new
 * entity created inside `dataSource.transaction(async (manager) => …)`. Entities loaded or saved
 * through a transactional manager are bound automatically while that transaction is open.
 */
export function bindEntityManager<T extends object>(entity: T, manager: EntityManager): T {
  stateOf(entity).manager = manager;
  return entity;
}

/** Set on loaded entities when several DataSources are installed: the one the entity came from. */
const SOURCE = Symbol('filefield.dataSource');

/**
 * A row TypeORM just loaded: bound to its transactional manager while that transaction is open,
 * and, when more than one DataSource is installed, to its DataSource (a symbol slot; with one
 * DataSource there is nothing to tell apart, and loading stays as cheap as it was).
 */
export function bindLoaded(entity: object, dataSource: DataSource, runner: QueryRunner | undefined): void {
  if (runner?.isTransactionActive) rememberManager(entity, runner.manager);
  else if (installedDataSources.size > 1) (entity as Record<symbol, unknown>)[SOURCE] = dataSource;
}

/** Remember the transactional manager an entity (not a plain object) was just loaded or written with. */
export function rememberManager(entity: object, manager: EntityManager): void {
  if (manager.queryRunner?.isTransactionActive && (entity as Record<symbol, unknown>)[HAS_FILE_FIELDS] === true) {
    stateOf(entity).manager = manager;
  }
}

export function managerFor(entity: object): EntityManager {
  const bound = existingStateOf(entity)?.manager;
  if (bound) {
    const runner = bound.queryRunner;
    if (!runner || (!runner.isReleased && runner.isTransactionActive)) return bound;
    // That transaction is over: write through the same DataSource, outside it.
    // TypeORM 1.x calls it `dataSource`; 0.3 only has `connection`.
    return (bound.dataSource ?? (bound as EntityManager & { connection: DataSource }).connection).manager;
  }
  const source = (entity as Record<symbol, DataSource | undefined>)[SOURCE];
  if (source && installedDataSources.has(source) && source.isInitialized) return source.manager;
  const target = entity.constructor;
  const candidates = [...installedDataSources.keys()].filter((dataSource) => dataSource.isInitialized && dataSource.hasMetadata(target));
  if (candidates.length === 1) return candidates[0].manager;
  const name = target?.name || 'this entity';
  if (candidates.length === 0) {
    throw new ConfigurationError(
      `No DataSource with filefield installed knows ${name}, so FieldFile.save() cannot save it: call ` +
        'installFileFields(dataSource) after dataSource.initialize(), or pass { save: false } and save the entity yourself.',
    );
  }
  throw new ConfigurationError(
    `${candidates.length} DataSources with filefield installed know ${name}; bind the entity to one with ` +
      'bindEntityManager(entity, dataSource.manager) before FieldFile.save().',
  );
}
