/**
 * The entity subscriber that applies the core's deletion policy to TypeORM's events (loading
 * needs none: see hydration.ts):
 * - beforeInsert/beforeUpdate: names being written are validated (typed error, nothing written),
 *   and files uploaded through the entity are registered for deletion if the transaction rolls back;
 * - afterUpdate (a replaced file) and afterRemove (a removed row): the old names become deletion
 *   candidates of the transaction;
 * - afterTransactionCommit/Rollback of the outermost transaction: the candidates go through the
 *   core's FileDeletionScheduler, which deletes what no row references any more.
 * Outside a transaction (`{ transaction: false }`) the change is already committed when the
 * after-event fires, so its candidates are settled at once.
 */
import { type DeletionCandidate, type FileDeletionScheduler, PendingFileChanges, validateFileName } from '@filefield/core';
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
import { existingStateOf } from './entity-state';
import { FileNameTooLongError } from './errors';
import { type FileColumn, fileColumnsOf, nameOf } from './file-columns';
import { rememberManager } from './managers';
import { TypeOrmReferenceChecker } from './reference-checker';
import { type SettledChanges, TransactionFileChanges } from './transaction-file-changes';

export interface FileFieldSubscriberOptions {
  scheduler: FileDeletionScheduler;
  referenceBatchSize: number;
  warnOnBulkDelete: boolean;
}

export class FileFieldSubscriber implements EntitySubscriberInterface {
  private readonly transactions = new WeakMap<QueryRunner, TransactionFileChanges>();
  private readonly warnedBulkDeletes = new WeakSet<EntityMetadata>();

  constructor(private readonly options: FileFieldSubscriberOptions) {}

  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    if (this.beforeWrite(event.entity, undefined, event.metadata, event.queryRunner)) rememberManager(event.entity, event.manager);
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    if (this.beforeWrite(event.entity, event.databaseEntity, event.metadata, event.queryRunner)) rememberManager(event.entity!, event.manager);
  }

  async afterUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    // QueryBuilder/repository.update() carry no databaseEntity: the replaced names are unknown.
    if (!event.entity || !event.databaseEntity) return;
    const candidates: DeletionCandidate[] = [];
    for (const { column, field } of fileColumnsOf(event.metadata)) {
      if (!field.deleteReplaced) continue;
      const current = nameOf(column.getEntityValue(event.entity));
      if (current === undefined) continue;
      const previous = nameOf(column.getEntityValue(event.databaseEntity));
      if (previous && previous !== current) candidates.push({ field, name: previous });
    }
    await this.deleteAfterCommit(event.queryRunner, candidates);
  }

  async afterRemove(event: RemoveEvent<ObjectLiteral>): Promise<void> {
    const columns = fileColumnsOf(event.metadata);
    if (columns.length === 0) return;
    const row = event.databaseEntity ?? event.entity;
    if (!row) {
      this.warnBulkDelete(event.metadata);
      return;
    }
    const candidates: DeletionCandidate[] = [];
    for (const { column, field } of columns) {
      const name = nameOf(column.getEntityValue(row));
      if (name) candidates.push({ field, name });
    }
    await this.deleteAfterCommit(event.queryRunner, candidates);
  }

  afterTransactionStart(event: TransactionStartEvent): void {
    this.transactionOf(event.queryRunner).started();
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await this.settle(event.queryRunner, (transaction, active) => transaction.committed(active));
  }

  async afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    await this.settle(event.queryRunner, (transaction, active) => transaction.rolledBack(active));
  }

  /** Validate and register uploads; returns whether the entity has file columns. */
  private beforeWrite(entity: ObjectLiteral | undefined, databaseEntity: ObjectLiteral | undefined, metadata: EntityMetadata, runner: QueryRunner): boolean {
    if (!entity) return false;
    const columns = fileColumnsOf(metadata);
    if (columns.length === 0) return false;
    const state = existingStateOf(entity);
    for (const { column, field } of columns) {
      const name = nameOf(column.getEntityValue(entity));
      if (!name) continue;
      if (databaseEntity && nameOf(column.getEntityValue(databaseEntity)) === name) continue;
      assertStorableName(field, name);
      // A file uploaded through this entity and now written to its row: if the transaction rolls
      // back, nothing refers to it any more.
      if (state?.uploads?.get(field.property)?.has(name) && runner.isTransactionActive) {
        const transaction = this.transactionOf(runner);
        transaction.current().deleteOnRollback({ field, name });
        transaction.rememberUpload(state, field.property, name);
      }
    }
    return true;
  }

  private async deleteAfterCommit(runner: QueryRunner, candidates: DeletionCandidate[]): Promise<void> {
    if (candidates.length === 0) return;
    if (runner.isTransactionActive) {
      const changes = this.transactionOf(runner).current();
      for (const candidate of candidates) changes.deleteOnCommit(candidate);
      return;
    }
    // No transaction (`{ transaction: false }` or a driver without them): the change is committed.
    const changes = new PendingFileChanges();
    for (const candidate of candidates) changes.deleteOnCommit(candidate);
    await changes.committed(this.options.scheduler, this.checker(runner));
  }

  /** After the outermost commit or rollback: hand that transaction's file changes to the scheduler. */
  private async settle(
    runner: QueryRunner,
    outcome: (transaction: TransactionFileChanges, stillActive: boolean) => SettledChanges[] | undefined,
  ): Promise<void> {
    const transaction = this.transactions.get(runner);
    const work = transaction && outcome(transaction, runner.isTransactionActive);
    if (!transaction || !work) return;
    this.transactions.delete(runner);
    await transaction.settle(work, this.options.scheduler, this.checker(runner));
  }

  private transactionOf(runner: QueryRunner): TransactionFileChanges {
    let transaction = this.transactions.get(runner);
    if (!transaction) this.transactions.set(runner, (transaction = new TransactionFileChanges()));
    return transaction;
  }

  private checker(runner: QueryRunner): TypeOrmReferenceChecker {
    return new TypeOrmReferenceChecker(runner, this.options.referenceBatchSize);
  }

  private warnBulkDelete(metadata: EntityMetadata): void {
    if (!this.options.warnOnBulkDelete || this.warnedBulkDeletes.has(metadata)) return;
    this.warnedBulkDeletes.add(metadata);
    console.warn(
      `filefield: rows of ${metadata.name} were deleted with delete()/QueryBuilder, which does not load them, so their files ` +
        'stay in the storage. Use remove() on loaded entities to delete their files (this warning is shown once per entity; ' +
        'installFileFields(dataSource, { warnOnBulkDelete: false }) silences it).',
    );
  }
}

function assertStorableName(field: FileColumn['field'], name: string): void {
  validateFileName(name);
  if (name.length > field.maxLength) throw new FileNameTooLongError(field.label, name, field.maxLength);
}
