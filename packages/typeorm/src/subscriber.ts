/**
 * The entity subscriber that turns TypeORM's events into ledger calls (loading needs none: see
 * hydration.ts). Every ledger statement runs on the event's QueryRunner, so it commits or rolls
 * back with the write:
 * - beforeInsert/beforeUpdate: each name a row starts to hold is checked (`assertStorable`) and
 *   referenced at once: its ledger row stays locked until the transaction ends, so no sweeper can
 *   find it unreferenced meanwhile;
 * - afterUpdate (a replaced or deleted file) and afterRemove (a removed row): the old names are
 *   released, as tasks for the sweeper. Inside a transaction they are collected and written
 *   together just before it commits (or before a savepoint starts or is released): a few
 *   multi-row INSERTs instead of one per entity; a rollback drops what was not written yet;
 * - TypeORM runs the events of one save concurrently, and a connection takes one query at a
 *   time: the statements for one QueryRunner run one after the other;
 * - after the outermost commit the sweeper is nudged. After a rollback, the uploads its writes held
 *   keep their claims: a retry of the transaction can still use them, and the sweeper deletes
 *   them once the grace period is over (on SQLite, where a claim made inside the transaction
 *   rolled back with it, the claim is made again).
 * Commit never waits for the storage.
 */
import type { LedgerFile } from '@filefield/core';
import type {
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  ObjectLiteral,
  QueryRunner,
  RemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  TransactionStartEvent,
  UpdateEvent,
} from 'typeorm';
import { existingStateOf, fieldChange, settleField } from './entity-state';
import { type FileColumn, fileColumnsOf, nameOf } from './file-columns';
import { runnerSession } from './ledger-database';
import { type DataSourceLifecycle, rememberManager } from './managers';

export interface FileFieldSubscriberOptions {
  lifecycle: DataSourceLifecycle;
  warnOnBulkDelete: boolean;
}

/** What an open transaction did to files: uploads its writes took, and releases not written yet. */
interface OpenTransaction {
  uploads: LedgerFile[];
  savepointRolledBack: boolean;
  released: Record<'removed' | 'replaced', LedgerFile[]>;
}

export class FileFieldSubscriber implements EntitySubscriberInterface {
  private readonly transactions = new WeakMap<QueryRunner, OpenTransaction>();
  private readonly queues = new WeakMap<QueryRunner, Promise<unknown>>();
  private readonly warnedBulkDeletes = new WeakSet<EntityMetadata>();

  constructor(private readonly options: FileFieldSubscriberOptions) {}

  async beforeInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    if (await this.beforeWrite(event.entity, undefined, event.metadata, event.queryRunner)) rememberManager(event.entity, event.manager);
  }

  async beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    if (event.entity && event.databaseEntity) this.keepUnchanged(event.entity, event.databaseEntity, event.metadata);
    if (await this.beforeWrite(event.entity, event.databaseEntity, event.metadata, event.queryRunner)) rememberManager(event.entity!, event.manager);
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): void {
    if (!event.entity) return;
    for (const column of fileColumnsOf(event.metadata)) settleWritten(event.entity, column);
  }

  async afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    if (!event.entity) return;
    const state = existingStateOf(event.entity);
    const released: LedgerFile[] = [];
    for (const column of fileColumnsOf(event.metadata)) {
      const { field } = column;
      const discarded = state?.takeDiscarded(field.property);
      if (discarded && !field.isDefault(discarded)) released.push({ storage: field.storage, name: discarded });
      // QueryBuilder/repository.update() carry no databaseEntity: the replaced names are unknown (the orphan scan finds them).
      if (!event.databaseEntity) continue;
      const { changed, baseline } = fieldChange(event.entity, column);
      const current = nameOf(column.column.getEntityValue(event.entity));
      if (current === undefined) continue;
      const previous = nameOf(column.column.getEntityValue(event.databaseEntity));
      // The name the row held, and (for a stale entity) the one this entity loaded: a name
      // released twice, or still named elsewhere, is kept by the sweeper.
      if (field.deleteReplaced && (changed || previous !== current)) {
        for (const replaced of new Set([previous, baseline])) {
          if (replaced && replaced !== current && replaced !== discarded && !field.isDefault(replaced)) released.push({ storage: field.storage, name: replaced });
        }
      }
      settleWritten(event.entity, column);
    }
    await this.release(event.queryRunner, released, 'replaced');
  }

  async afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    const columns = fileColumnsOf(event.metadata);
    if (columns.length === 0) return;
    const row = event.databaseEntity ?? event.entity;
    if (!row) {
      this.warnBulkDelete(event.metadata);
      return;
    }
    const released: LedgerFile[] = [];
    for (const { column, field } of columns) {
      const name = nameOf(column.getEntityValue(row));
      if (name && !field.isDefault(name)) released.push({ storage: field.storage, name });
    }
    await this.release(event.queryRunner, released, 'removed');
  }

  /** A savepoint is about to start: what the enclosing level did goes in before it. */
  async beforeTransactionStart(event: TransactionStartEvent): Promise<void> {
    if (event.queryRunner.isTransactionActive) await this.flush(event.queryRunner);
  }

  /** The transaction (or a savepoint) is about to commit: write its ledger calls now. */
  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await this.flush(event.queryRunner);
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    if (event.queryRunner.isTransactionActive) return; // a savepoint was released
    const open = this.transactions.get(event.queryRunner);
    this.transactions.delete(event.queryRunner);
    // A savepoint that rolled back may have held uploads whose claims the commit did not clear.
    if (open?.savepointRolledBack) await this.reclaim(open.uploads);
    this.options.lifecycle.sweeper?.nudge();
  }

  async afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    const open = this.transactions.get(event.queryRunner);
    if (!open) return;
    // Not written yet: they belong to the level that rolled back.
    open.released = { removed: [], replaced: [] };
    if (event.queryRunner.isTransactionActive) {
      open.savepointRolledBack = true;
      return;
    }
    this.transactions.delete(event.queryRunner);
    await this.reclaim(open.uploads);
  }

  /** Names a write this subscriber sees no event for replaced (TypeORM's upsert, see upsert.ts). */
  releaseReplaced(runner: QueryRunner, files: LedgerFile[]): Promise<void> {
    return this.release(runner, files, 'replaced');
  }

  /**
   * A field the program did not change is not written: take the database's value, so TypeORM (which
   * compares again after these events) sees nothing to write. A stale entity, or one built by hand
   * with an id, never writes an old name over a newer one.
   */
  private keepUnchanged(entity: ObjectLiteral, databaseEntity: ObjectLiteral, metadata: EntityMetadata): void {
    for (const column of fileColumnsOf(metadata)) {
      if (fieldChange(entity, column).changed) continue;
      const stored = nameOf(column.column.getEntityValue(databaseEntity));
      if (stored !== undefined) settleField(entity, column, stored);
    }
  }

  /**
   * SQLite: an upload claimed its name while `runner` (TypeORM's one connection) had a
   * transaction open, so the claim is part of it; if it rolls back, the claim is made again.
   */
  claimedInTransaction(runner: QueryRunner, file: LedgerFile): void {
    this.openTransaction(runner).uploads.push(file);
  }

  /** Check and reference the names a row starts to hold; returns whether the entity has file columns. */
  private async beforeWrite(entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined, metadata: EntityMetadata, runner: QueryRunner): Promise<boolean> {
    if (!entity) return false;
    const columns = fileColumnsOf(metadata);
    if (columns.length === 0) return false;
    const state = existingStateOf(entity);
    const referenced: LedgerFile[] = [];
    for (const { column, field } of columns) {
      const name = nameOf(column.getEntityValue(entity));
      if (!name) continue;
      if (databaseEntity && nameOf(column.getEntityValue(databaseEntity)) === name) continue;
      field.assertStorable(name);
      if (field.isDefault(name)) continue; // defaults are never deleted: nothing to protect
      const file = { storage: field.storage, name };
      referenced.push(file);
      if (state?.takeUpload(field.property, name) && runner.isTransactionActive) this.openTransaction(runner).uploads.push(file);
    }
    if (referenced.length > 0) await this.serially(runner, () => this.options.lifecycle.ledger.reference(runnerSession(runner), referenced));
    return true;
  }

  private async release(runner: QueryRunner, files: LedgerFile[], reason: 'removed' | 'replaced'): Promise<void> {
    if (files.length === 0) return;
    if (runner.isTransactionActive) {
      this.openTransaction(runner).released[reason].push(...files);
      return;
    }
    // Outside a transaction (`{ transaction: false }`) the change is already committed.
    await this.serially(runner, () => this.options.lifecycle.ledger.release(runnerSession(runner), files, reason));
    this.options.lifecycle.sweeper?.nudge();
  }

  /** Run `statement` after the ledger statements already queued on `runner`. */
  private serially<T>(runner: QueryRunner, statement: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(runner) ?? Promise.resolve();
    const next = previous.then(statement, statement);
    this.queues.set(runner, next.catch(() => undefined));
    return next;
  }

  /** Write the ledger calls collected for `runner`'s transaction, one statement at a time. */
  private async flush(runner: QueryRunner): Promise<void> {
    const open = this.transactions.get(runner);
    if (!open) return;
    const { released } = open;
    open.released = { removed: [], replaced: [] };
    const { ledger } = this.options.lifecycle;
    const session = runnerSession(runner);
    for (const reason of ['removed', 'replaced'] as const) {
      if (released[reason].length > 0) await this.serially(runner, () => ledger.release(session, released[reason], reason));
    }
  }

  /** Uploads whose rows did not commit: make sure each has a claim, which expires after the grace period. */
  private async reclaim(uploads: LedgerFile[]): Promise<void> {
    if (uploads.length === 0) return;
    const { ledger } = this.options.lifecycle;
    try {
      await ledger.abandon(uploads, { claimUntil: ledger.clock() + ledger.gracePeriod });
    } catch {
      // Only SQLite lost its claims with the rollback; elsewhere they stand and expire as usual.
    }
  }

  private openTransaction(runner: QueryRunner): OpenTransaction {
    let open = this.transactions.get(runner);
    if (!open) this.transactions.set(runner, (open = { uploads: [], savepointRolledBack: false, released: { removed: [], replaced: [] } }));
    return open;
  }

  private warnBulkDelete(metadata: EntityMetadata): void {
    if (!this.options.warnOnBulkDelete || this.warnedBulkDeletes.has(metadata)) return;
    this.warnedBulkDeletes.add(metadata);
    console.warn(
      `filefield: rows of ${metadata.name} were deleted with delete()/QueryBuilder, which does not load them, so their files ` +
        'were not released. Use remove() on loaded entities, or run the orphan scan (scanOrphans) to find such files (this warning is ' +
        'shown once per entity; installFileFields(dataSource, { warnOnBulkDelete: false }) silences it).',
    );
  }
}

/** The row now holds what the entity holds: that is the field's new baseline. */
function settleWritten(entity: ObjectLiteral, column: FileColumn): void {
  const name = nameOf(column.column.getEntityValue(entity));
  if (name !== undefined) settleField(entity, column, name);
}
