/**
 * How `row.field.save(name, content)` and `row.field.delete()` persist their row: an `update` of
 * that one column through the extended client, or the app's client given to `persistThrough` (so
 * the names go through the same ledger calls as any update, and later extensions see it), inside
 * the current interactive `$transaction` when there is one. Uploads claim
 * their names in the extension's ledger first.
 */
import type { FieldFile, FieldFileHost, FileFieldDefinition, FileLifecycle, NameClaim } from '@filefield/core';
import { FileFieldError } from '@filefield/core';
import { RowNotFoundError } from './errors';
import type { TransactionTracker } from './file-transaction';
import type { FileWrites } from './file-writes';
import type { FileModel } from './model-fields';

type Row = Record<string, unknown>;
type UpdateDelegate = { update(args: Record<string, unknown>): PromiseLike<unknown> };

export interface PrismaLifecycle {
  readonly files: FileLifecycle;
  readonly tracker: TransactionTracker;
  readonly writes: FileWrites;
}

export class PrismaFieldFileHost implements FieldFileHost<Row> {
  constructor(
    private readonly model: FileModel,
    private readonly lifecycle: PrismaLifecycle,
    /** The client updates go through outside a transaction: the extended one (known once `$extends` returned), or the app's (`persistThrough`). */
    private readonly client: () => object,
  ) {}

  async persist(instance: Row, field: FileFieldDefinition<Row>, file: FieldFile<Row>, change?: { discarded?: string }): Promise<void> {
    const { primaryKey } = this.model;
    const id = instance[primaryKey];
    if (id === undefined || id === null) {
      throw new FileFieldError('E_NO_PRIMARY_KEY', `${field.label}: this row has no '${primaryKey}' value, so it cannot be updated; pass { save: false }.`);
    }
    const delegate = ((this.lifecycle.tracker.current?.client ?? this.client()) as Record<string, UpdateDelegate>)[this.model.key];
    const update = () => delegate.update({ where: { [primaryKey]: id }, data: { [field.property]: file.name }, select: { [primaryKey]: true } });
    try {
      if (change?.discarded) await this.lifecycle.writes.discarding.run(new Set([change.discarded]), update);
      else await update();
    } catch (error) {
      if ((error as { code?: unknown }).code === 'P2025') throw new RowNotFoundError(field.label, `${primaryKey} = ${JSON.stringify(id)}`, { cause: error });
      throw error;
    }
  }

  nameClaim(_instance: Row, field: FileFieldDefinition<Row>): NameClaim {
    return this.lifecycle.files.ledger.nameClaim(field.storage);
  }

  uploaded(_instance: Row, field: FileFieldDefinition<Row>, _file: FieldFile<Row>, name: string): void {
    // If the transaction this upload happens in rolls back, its claim is made again (SQLite shares it).
    const transaction = this.lifecycle.tracker.current;
    if (transaction) this.lifecycle.files.changes.uploaded(transaction.files, { storage: field.storage, name });
  }

  async abandon(_instance: Row, field: FileFieldDefinition<Row>, name: string): Promise<void> {
    await this.lifecycle.files.ledger.abandon([{ storage: field.storage, name }]);
    this.lifecycle.files.nudge();
  }
}
