/**
 * The query component: every write to a model with file columns passes through `handle`.
 * Creates and updates have their file columns checked (`assertStorable`). Then, in the same
 * transaction as the write, the ledger learns what changed (through the core's change tracker):
 * - each name a row starts to hold is referenced (its ledger row stays locked until commit, so no
 *   sweeper finds it unreferenced meanwhile);
 * - each name a row stops holding (a deleted row, a replaced name, a related row a nested
 *   operation of an update deleted or changed) is released, as a task the sweeper checks once the
 *   transaction committed.
 * A write outside any transaction runs in an interactive transaction of its own on the client
 * the extension was applied to, so its ledger statements commit with it. Inside a batch
 * `$transaction([...])` no statement can be added: references become claims written just before
 * the batch, releases are written right after it commits (see the README).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FileFieldDefinition, FileLifecycle, LedgerFile, SqlSession, TransactionFiles } from '@filefield/core';
import { storedName, writtenName } from './column-values';
import type { FileTransaction, TransactionTracker, WriteScope } from './file-transaction';
import { type RawClient, type TransactionClient, rawSession } from './ledger-database';
import type { FileModel, FileModels } from './model-fields';
import type { NestedWrites } from './nested-writes';
import { attach, transactionRecord } from './query-chain';

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

type Delegate = Record<string, (args: Args) => PromiseLike<unknown>> & {
  findUnique(args: Args): PromiseLike<Row | null>;
  findMany(args: Args): PromiseLike<Row[]>;
};

/** Rows per page when reading the names a bulk write replaces or deletes. */
const PAGE = 1000;

/**
 * The transaction of its own a write outside any transaction gets: Prisma's interactive defaults
 * (2 s to get a connection, 5 s in all) would fail writes that work without filefield, such as a
 * large deleteMany or a busy pool.
 */
const OWN_TRANSACTION = { maxWait: 60_000, timeout: 15 * 60_000 };

/** The model a write goes to: its client property and its name. */
interface Target {
  key: string;
  name: string;
}

/** Where one write runs: its ledger session (none in a batch), its transaction's files, its delegate for reads, and the write itself. */
interface Unit {
  session: SqlSession | undefined;
  files: TransactionFiles;
  /** The client reads go through (in the write's transaction where it has one). */
  client: Record<string, Delegate>;
  reader: Delegate;
  write: (args: Args) => PromiseLike<unknown>;
}

export class FileWrites {
  /** Names `FieldFile.delete()` takes off a row: released whatever the field's `deleteReplaced` says. */
  readonly discarding = new AsyncLocalStorage<Set<string>>();

  constructor(
    private readonly models: FileModels,
    private readonly tracker: TransactionTracker,
    private readonly files: FileLifecycle,
    /** The client the extension was applied to: reads and writes outside any transaction. */
    private readonly root: TransactionClient,
    private readonly nested: NestedWrites,
  ) {}

  private get ledger() {
    return this.files.ledger;
  }

  private get changes() {
    return this.files.changes;
  }

  handle(params: QueryParams): PromiseLike<unknown> {
    const model = this.models.named(params.model);
    const args = params.args ?? {};
    const target = { key: model?.key ?? lowerFirst(params.model ?? ''), name: params.model ?? '' };
    switch (params.operation) {
      case 'create':
      case 'createMany':
      case 'createManyAndReturn': {
        const { data, files } = this.nested.check(target.name, args.data, true);
        const checked = { ...args, data };
        if (files.length === 0) return params.query(checked);
        return this.run(target, params, checked, async (unit) => {
          await this.reference(unit, files);
          return unit.write(checked);
        });
      }
      case 'update':
      case 'updateMany':
      case 'updateManyAndReturn': {
        const { data, files } = this.nested.check(target.name, args.data, false);
        const checked = { ...args, data };
        const relations = params.operation === 'update' ? this.nested.releasingRelations(target.name, data) : [];
        if ((!model || model.fieldsWritten(data).length === 0) && relations.length === 0) return this.referencing(target, params, checked, files);
        return this.run(target, params, checked, (unit) => this.withNested(unit, relations, args.where, () => this.replace(model, params.operation, unit, checked, data, files)));
      }
      case 'upsert': {
        const create = this.nested.check(target.name, args.create, true);
        const update = this.nested.check(target.name, args.update, false);
        const checked = { ...args, create: create.data, update: update.data };
        const files = [...create.files, ...update.files];
        const relations = this.nested.releasingRelations(target.name, update.data);
        if ((!model || model.fieldsWritten(update.data).length === 0) && relations.length === 0) return this.referencing(target, params, checked, files);
        return this.run(target, params, checked, (unit) => this.withNested(unit, relations, args.where, () => this.replace(model, params.operation, unit, checked, update.data, files)));
      }
      case 'delete':
        if (!model) return params.query(args);
        return this.run(target, params, args, (unit) => this.deleteOne(model, unit, args));
      case 'deleteMany':
        if (!model) return params.query(args);
        return this.run(target, params, args, (unit) => this.deleteMany(model, unit, args));
      default:
        return params.query(args);
    }
  }

  /** A write that replaces nothing filefield tracks but may write names (nested creates): reference them with it. */
  private referencing(target: Target, params: QueryParams, args: Args, files: LedgerFile[]): PromiseLike<unknown> {
    if (files.length === 0) return params.query(args);
    return this.run(target, params, args, async (unit) => {
      await this.reference(unit, files);
      return unit.write(args);
    });
  }

  /** Run `work` where the write belongs: the open interactive transaction, a batch, or a transaction of its own. */
  private async run(model: Target, params: QueryParams, args: Args, work: (unit: Unit) => Promise<unknown>): Promise<unknown> {
    const scope: WriteScope = this.tracker.scopeOf(params);
    if (scope.kind === 'untracked') {
      warnUntracked(model, params.operation);
      return params.query(args);
    }
    if (scope.kind === 'transaction') return work(this.unitIn(scope.transaction, model, params));
    // SQLite: Prisma runs every query on one connection, so a query on the outer client inside an
    // interactive transaction's callback is part of that transaction (a transaction of its own
    // would wait for it forever).
    const open = this.tracker.current;
    if (open?.client && this.ledger.database.dialect === 'sqlite') return work(this.unitIn(open, model, params));
    const files = this.changes.begin();
    let result: unknown;
    try {
      result = await this.root.$transaction(async (tx) => {
        const delegate = (tx as unknown as Record<string, Delegate>)[model.key];
        const operation = params.operation;
        const session = rawSession(tx);
        // The rest of the query chain, in this transaction: extensions applied after fileFields() see the write.
        const record = await transactionRecord(tx);
        const write = (writeArgs: Args) => attach(() => params.query(writeArgs), record) ?? delegate[operation](writeArgs);
        const value = await work({ session, files, client: tx as unknown as Record<string, Delegate>, reader: delegate, write });
        await this.changes.flush(files, session);
        return value;
      }, OWN_TRANSACTION);
    } catch (error) {
      await this.changes.end(files, false);
      throw error;
    }
    await this.changes.end(files, true);
    return result;
  }

  /** A write inside `transaction` (interactive: its client; batch: no session, see `reference`/`release`). */
  private unitIn(transaction: FileTransaction, model: Target, params: QueryParams): Unit {
    const client = transaction.client as RawClient | undefined;
    const delegates = (client ?? this.root) as unknown as Record<string, Delegate>;
    return { session: client ? rawSession(client) : undefined, files: transaction.files, client: delegates, reader: delegates[model.key], write: params.query };
  }

  /**
   * A single-row update whose nested operations may delete related rows or replace their names
   * (`relations`): the related rows' names are read before and after `write`, in its transaction,
   * and those they stopped holding are released (removed rows: all their names; replaced names:
   * where `deleteReplaced`). In a batch (no session) nothing is read: the orphan scan finds them.
   */
  private async withNested(unit: Unit, relations: Array<{ relation: string; target: FileModel }>, where: unknown, write: () => Promise<unknown>): Promise<unknown> {
    if (relations.length === 0 || !unit.session) return write();
    const before = await unit.reader.findUnique({
      where,
      select: Object.fromEntries(relations.map(({ relation, target }) => [relation, { select: columnSelection(target, [...target.fields.values()]) }])),
    });
    const result = await write();
    if (!before) return result;
    for (const { relation, target } of relations) {
      const related = before[relation];
      const rows = (Array.isArray(related) ? related : related ? [related] : []) as Row[];
      if (rows.length === 0) continue;
      const ids = rows.map((row) => row[target.primaryKey]);
      const after = new Map<unknown, Row>();
      for (const row of await unit.client[target.key].findMany({ where: { [target.primaryKey]: { in: ids } }, select: columnSelection(target, [...target.fields.values()]) })) {
        after.set(row[target.primaryKey], row);
      }
      const removed: Row[] = [];
      const replaced: LedgerFile[] = [];
      for (const row of rows) {
        const now = after.get(row[target.primaryKey]);
        if (!now) {
          removed.push(row);
          continue;
        }
        for (const field of target.fields.values()) {
          const name = storedName(row[field.property]);
          if (name !== null && name !== storedName(now[field.property]) && field.deleteReplaced && !field.isDefault(name)) replaced.push({ storage: field.storage, name });
        }
      }
      await this.release(unit, this.namesOf(target, removed), 'removed');
      await this.release(unit, replaced, 'replaced');
    }
    return result;
  }

  /** update/updateMany/updateManyAndReturn/upsert: new names are referenced, the names they replace released. */
  private async replace(model: FileModel | undefined, operation: string, unit: Unit, args: Args, update: unknown, written: LedgerFile[]): Promise<unknown> {
    if (!model) {
      await this.reference(unit, written);
      return unit.write(args);
    }
    const fields = model.fieldsWritten(update);
    const discarded = this.discarding.getStore();
    const releasable = fields.filter((field) => field.deleteReplaced || discarded !== undefined);
    const single = operation === 'update' || operation === 'upsert';
    const before = releasable.length === 0 ? [] : single ? await this.readOne(model, unit.reader, args.where, releasable) : await this.readPaged(model, unit.reader, args.where, releasable);
    await this.reference(unit, written);
    const result = await unit.write(args);
    const released: LedgerFile[] = [];
    for (const row of before) {
      for (const field of releasable) {
        const name = storedName(row[field.property]);
        if (name === null || name === writtenName(update, field) || field.isDefault(name)) continue;
        if (field.deleteReplaced || discarded?.has(name)) released.push({ storage: field.storage, name });
      }
    }
    await this.release(unit, released, 'replaced');
    return result;
  }

  /** delete: the deleted row comes back from the write itself, so its names cost no extra read. */
  private async deleteOne(model: FileModel, unit: Unit, args: Args): Promise<unknown> {
    const { args: widened, added } = withFileColumns(model, args);
    const row = (await unit.write(widened)) as Row;
    const released = this.namesOf(model, [row]);
    for (const property of added) delete row[property];
    await this.release(unit, released, 'removed');
    return row;
  }

  /** deleteMany: the matching rows' names, read in pages first, then the delete; never a query per row. */
  private async deleteMany(model: FileModel, unit: Unit, args: Args): Promise<unknown> {
    const before = await this.readPaged(model, unit.reader, args.where, [...model.fields.values()]);
    const result = await unit.write(args);
    await this.release(unit, this.namesOf(model, before), 'removed');
    return result;
  }

  /** In a batch (no session) the files are claimed until the grace period is over instead of locked. */
  private reference(unit: Unit, files: LedgerFile[]): Promise<void> {
    return this.changes.reference(unit.session, files);
  }

  private release(unit: Unit, files: LedgerFile[], reason: 'removed' | 'replaced'): Promise<void> {
    return this.changes.release(unit.files, unit.session ?? this.ledger.database.autocommit, files, reason);
  }

  /** The names (not defaults) rows hold in any file column. */
  private namesOf(model: FileModel, rows: Row[]): LedgerFile[] {
    const files: LedgerFile[] = [];
    for (const row of rows) {
      for (const field of model.fields.values()) {
        const name = storedName(row[field.property]);
        if (name !== null && !field.isDefault(name)) files.push({ storage: field.storage, name });
      }
    }
    return files;
  }

  private async readOne(model: FileModel, reader: Delegate, where: unknown, fields: FileFieldDefinition[]): Promise<Row[]> {
    const row = await reader.findUnique({ where, select: columnSelection(model, fields) });
    return row ? [row] : [];
  }

  /** The rows `where` matches, in pages by primary key (bounded memory for any number of rows). */
  private async readPaged(model: FileModel, reader: Delegate, where: unknown, fields: FileFieldDefinition[]): Promise<Row[]> {
    const rows: Row[] = [];
    let after: unknown;
    for (;;) {
      const page = await reader.findMany({
        where: after === undefined ? where : { AND: [where ?? {}, { [model.primaryKey]: { gt: after } }] },
        select: columnSelection(model, fields),
        orderBy: { [model.primaryKey]: 'asc' },
        take: PAGE,
      });
      // Keep only the names: a page of rows is dropped once read.
      for (const row of page) rows.push(pick(row, fields));
      if (page.length < PAGE) return rows;
      after = page[page.length - 1][model.primaryKey];
    }
  }
}

/** Prisma's client property of a model (`MyStorage` → `myStorage`). */
function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function pick(row: Row, fields: FileFieldDefinition[]): Row {
  const names: Row = {};
  for (const field of fields) names[field.property] = row[field.property];
  return names;
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

function warnUntracked(model: Target, operation: string): void {
  console.warn(
    `filefield: ${model.name}.${operation} ran in a transaction that was not started with the extended client's $transaction, ` +
      'so its files were not referenced or released in the ledger (the orphan scan finds what it leaves). Apply fileFields() as the ' +
      'last extension that overrides $transaction.',
  );
}
