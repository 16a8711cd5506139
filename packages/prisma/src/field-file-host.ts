/**
 * How `row.field.save(name, content)` persists its row: an `update` of that one column through
 * the extended client (so a replaced name goes through the same deletion policy as any update),
 * inside the current interactive `$transaction` when there is one.
 */
import {
  type FieldFile,
  type FieldFileHost,
  FileFieldError,
  type FileDeletionScheduler,
  type FileFieldDefinition,
  type ReferenceChecker,
} from '@filefield/core';
import { RowNotFoundError } from './errors';
import type { TransactionTracker } from './file-transaction';
import type { FileModel } from './model-fields';

type Row = Record<string, unknown>;
type UpdateDelegate = { update(args: Record<string, unknown>): PromiseLike<unknown> };

export class PrismaFieldFileHost implements FieldFileHost<Row> {
  constructor(
    private readonly model: FileModel,
    private readonly tracker: TransactionTracker,
    private readonly scheduler: FileDeletionScheduler,
    private readonly checker: ReferenceChecker,
    /** The extended client (known once `$extends` returned). */
    private readonly client: () => object,
  ) {}

  async persist(instance: Row, field: FileFieldDefinition<Row>, file: FieldFile<Row>): Promise<void> {
    const { primaryKey } = this.model;
    const id = instance[primaryKey];
    if (id === undefined || id === null) {
      throw new FileFieldError('E_NO_PRIMARY_KEY', `${field.label}: this row has no '${primaryKey}' value, so save() cannot update it; pass { save: false }.`);
    }
    const transaction = this.tracker.current;
    const transactionClient = transaction?.client;
    const uploaded = { field, name: file.name };
    // Inside a transaction the upload is an orphan if it rolls back.
    if (transactionClient) transaction!.uploaded.push(uploaded);
    const delegate = (transactionClient ?? this.client()) as Record<string, UpdateDelegate>;
    try {
      await delegate[this.model.key].update({ where: { [primaryKey]: id }, data: { [field.property]: file.name }, select: { [primaryKey]: true } });
    } catch (error) {
      // Outside a transaction nothing else will clean up the upload whose row was not written.
      if (!transactionClient) await this.scheduler.schedule([uploaded], this.checker);
      if ((error as { code?: unknown }).code === 'P2025') throw new RowNotFoundError(field.label, `${primaryKey} = ${JSON.stringify(id)}`, { cause: error });
      throw error;
    }
  }
}
