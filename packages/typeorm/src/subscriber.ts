/**
 * The entity subscriber that turns TypeORM's events into calls to the core's change tracker
 * (file-changes.ts, where the policy lives; loading needs none: see hydration.ts). Every ledger
 * statement runs on the event's QueryRunner, so it commits or rolls back with the write:
 * - beforeInsert/beforeUpdate: each name a row starts to hold is checked (`assertStorable`) and
 *   referenced at once;
 * - afterUpdate (a replaced or deleted file) and afterRemove (a removed row): the old names are
 *   released; the tracker keeps them until beforeTransactionCommit, or until a savepoint starts;
 * - savepoints are levels of the tracker's TransactionFiles: started in beforeTransactionStart,
 *   ended in afterTransactionCommit/Rollback while the outer transaction is still active;
 * - TypeORM runs the events of one save concurrently, and a connection takes one query at a
 *   time: the statements for one QueryRunner run one after the other.
 */
import type { LedgerFile, TransactionFiles } from '@filefield/core';
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

export class FileFieldSubscriber implements EntitySubscriberInterface {
  /** The innermost open level (transaction or savepoint) of each runner that did something to files. */
  private readonly transactions = new WeakMap<QueryRunner, TransactionFiles>();
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

  /** A savepoint is about to start: what the enclosing level did goes in before it, and it gets a level of its own. */
  async beforeTransactionStart(event: TransactionStartEvent): Promise<void> {
    const runner = event.queryRunner;
    if (!runner.isTransactionActive) return;
    await this.flush(runner);
    this.transactions.set(runner, this.changes.begin(this.openTransaction(runner)));
  }

  /** The transaction (or a savepoint) is about to commit: write its releases now. */
  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await this.flush(event.queryRunner);
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await this.ended(event.queryRunner, true);
  }

  async afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    await this.ended(event.queryRunner, false);
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
    this.changes.uploaded(this.openTransaction(runner), file);
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
      if (state?.takeUpload(field.property, name) && runner.isTransactionActive) this.changes.uploaded(this.openTransaction(runner), file);
    }
    if (referenced.length > 0) await this.serially(runner, () => this.changes.reference(runnerSession(runner), referenced));
    return true;
  }

  private async release(runner: QueryRunner, files: LedgerFile[], reason: 'removed' | 'replaced'): Promise<void> {
    if (files.length === 0) return;
    // Outside a transaction (`{ transaction: false }`) the change is already committed: written at once.
    const transaction = runner.isTransactionActive ? this.openTransaction(runner) : undefined;
    await this.serially(runner, () => this.changes.release(transaction, runnerSession(runner), files, reason));
  }

  /** Run `statement` after the ledger statements already queued on `runner`. */
  private serially<T>(runner: QueryRunner, statement: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(runner) ?? Promise.resolve();
    const next = previous.then(statement, statement);
    this.queues.set(runner, next.catch(() => undefined));
    return next;
  }

  /** Write the releases kept for `runner`'s open level. */
  private async flush(runner: QueryRunner): Promise<void> {
    const transaction = this.transactions.get(runner);
    if (transaction) await this.serially(runner, () => this.changes.flush(transaction, runnerSession(runner)));
  }

  /**
   * A level ended. While the runner's transaction is still active it was a savepoint; otherwise
   * the whole transaction ended, with every level still open in it.
   */
  private async ended(runner: QueryRunner, committed: boolean): Promise<void> {
    let level = this.transactions.get(runner);
    if (!level) return;
    if (runner.isTransactionActive) {
      if (level.parent) {
        this.transactions.set(runner, level.parent);
        await this.changes.end(level, committed);
      } else if (!committed) {
        // The tracker saw this transaction only after the savepoint began.
        this.changes.savepointRolledBack(level);
      }
      return;
    }
    this.transactions.delete(runner);
    for (; level; level = level.parent) await this.changes.end(level, committed);
  }

  private openTransaction(runner: QueryRunner): TransactionFiles {
    let transaction = this.transactions.get(runner);
    if (!transaction) this.transactions.set(runner, (transaction = this.changes.begin()));
    return transaction;
  }

  private get changes() {
    return this.options.lifecycle.changes;
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
