/**
 * The query component: every write to a model with file columns passes through `handle`.
 * Creates and updates have their file columns checked; deletes and name-replacing updates
 * collect the names they may orphan (read from the delete's own result, or read just before the
 * update, inside the same transaction when there is one) and, once the write succeeded, hand
 * them to the core's deletion policy: at once when the write autocommitted, after commit when
 * it ran in a `$transaction`. A write that fails collects nothing.
 */
import type { DeletionCandidate, FileDeletionScheduler, FileFieldDefinition, ReferenceChecker } from '@filefield/core';
import { checkedData, checkedDataList, storedName, writtenName } from './column-values';
import type { FileModel, FileModels } from './model-fields';
import type { TransactionTracker, WriteScope } from './file-transaction';

type Args = Record<string, any>;
type Row = Record<string, unknown>;

/** The parameters Prisma passes to a `$allModels.$allOperations` query callback. */
export interface QueryParams {
  model?: string;
  operation: string;
  args: Args;
  query: (args: Args) => PromiseLike<unknown>;
  __internalParams?: { transaction?: unknown };
}

type ReadDelegate = {
  findUnique(args: Args): PromiseLike<Row | null>;
  findMany(args: Args): PromiseLike<Row[]>;
};

export class FileWrites {
  constructor(
    private readonly models: FileModels,
    private readonly tracker: TransactionTracker,
    private readonly scheduler: FileDeletionScheduler,
    private readonly checker: ReferenceChecker,
    /** The client the extension was applied to: reads outside any transaction. */
    private readonly root: object,
  ) {}

  handle(params: QueryParams): PromiseLike<unknown> {
    const model = this.models.named(params.model);
    if (!model) return params.query(params.args);
    const args = params.args ?? {};
    switch (params.operation) {
      case 'create':
      case 'createMany':
      case 'createManyAndReturn':
        return params.query({ ...args, data: checkedDataList(model, args.data, true) });
      case 'update':
      case 'updateMany':
      case 'updateManyAndReturn':
        return this.replace(model, params, { ...args, data: checkedDataList(model, args.data, false) }, args.data);
      case 'upsert':
        return this.replace(model, params, { ...args, create: checkedData(model, args.create, true), update: checkedData(model, args.update, false) }, args.update);
      case 'delete':
        return this.deleteOne(model, params, args);
      case 'deleteMany':
        return this.deleteMany(model, params, args);
      default:
        return params.query(args);
    }
  }

  /** update/updateMany/updateManyAndReturn/upsert: the names a write replaces are candidates. */
  private async replace(model: FileModel, params: QueryParams, args: Args, rawData: unknown): Promise<unknown> {
    const data = params.operation === 'upsert' ? args.update : args.data;
    const replaced = model.fieldsWritten(rawData).filter((field) => field.deleteReplaced);
    const scope = this.tracker.scopeOf(params);
    if (replaced.length === 0 || scope.kind === 'untracked') {
      if (replaced.length > 0) warnUntracked(model, params.operation);
      return params.query(args);
    }
    const select = columnSelection(model, replaced);
    const reader = this.reader(model, scope);
    const single = params.operation === 'update' || params.operation === 'upsert';
    const before = single
      ? [await reader.findUnique({ where: args.where, select })].filter((row): row is Row => row !== null)
      : await reader.findMany({ where: args.where, select });
    const result = await params.query(args);
    const candidates: DeletionCandidate[] = [];
    for (const row of before) {
      for (const field of replaced) {
        const name = storedName(row[field.property]);
        if (name !== null && name !== writtenName(data, field)) candidates.push({ field, name });
      }
    }
    await this.afterWrite(scope, candidates);
    return result;
  }

  /** delete: the deleted row comes back from the query, so its names cost no extra read. */
  private async deleteOne(model: FileModel, params: QueryParams, args: Args): Promise<unknown> {
    const scope = this.tracker.scopeOf(params);
    if (scope.kind === 'untracked') {
      warnUntracked(model, params.operation);
      return params.query(args);
    }
    const { args: widened, added } = withFileColumns(model, args);
    const row = (await params.query(widened)) as Row;
    const candidates = [...model.fields.values()].map((field) => ({ field, name: storedName(row[field.property]) }));
    for (const property of added) delete row[property];
    await this.afterWrite(scope, candidates);
    return row;
  }

  /** deleteMany: one read of the matching rows' names first, then the delete; never per row. */
  private async deleteMany(model: FileModel, params: QueryParams, args: Args): Promise<unknown> {
    const scope = this.tracker.scopeOf(params);
    if (scope.kind === 'untracked') {
      warnUntracked(model, params.operation);
      return params.query(args);
    }
    const fields = [...model.fields.values()];
    const before = await this.reader(model, scope).findMany({ where: args.where, select: columnSelection(model, fields) });
    const result = await params.query(args);
    const candidates = before.flatMap((row) => fields.map((field) => ({ field, name: storedName(row[field.property]) })));
    await this.afterWrite(scope, candidates);
    return result;
  }

  /** Reads see the transaction's own writes: inside an interactive transaction, use its client. */
  private reader(model: FileModel, scope: WriteScope): ReadDelegate {
    const client = (scope.kind === 'transaction' ? scope.transaction.client : undefined) ?? this.root;
    return (client as Record<string, ReadDelegate>)[model.key];
  }

  private async afterWrite(scope: WriteScope, candidates: DeletionCandidate[]): Promise<void> {
    const named = candidates.filter((candidate) => candidate.name != null);
    if (named.length === 0) return;
    if (scope.kind === 'transaction') {
      scope.transaction.removed.push(...named);
    } else {
      await this.scheduler.schedule(named, this.checker);
    }
  }
}

function columnSelection(model: FileModel, fields: FileFieldDefinition[]): Record<string, true> {
  const select: Record<string, true> = { [model.primaryKey]: true };
  for (const field of fields) select[field.property] = true;
  return select;
}

/** Make sure a delete returns every file column, remembering which ones the caller did not ask for. */
function withFileColumns(model: FileModel, args: Args): { args: Args; added: string[] } {
  const added: string[] = [];
  if (args.select) {
    const select = { ...args.select };
    for (const property of model.fields.keys()) {
      if (!select[property]) {
        select[property] = true;
        added.push(property);
      }
    }
    return { args: { ...args, select }, added };
  }
  if (args.omit) {
    const omit = { ...args.omit };
    for (const property of model.fields.keys()) {
      if (omit[property]) {
        delete omit[property];
        added.push(property);
      }
    }
    return { args: { ...args, omit }, added };
  }
  return { args, added };
}

function warnUntracked(model: FileModel, operation: string): void {
  console.warn(
    `filefield: ${model.name}.${operation} ran in a transaction that was not started with the extended client's $transaction, ` +
      'so filefield cannot tell when it commits; the files it may orphan were kept. Apply fileFields() as the last extension that overrides $transaction.',
  );
}
