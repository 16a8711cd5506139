/**
 * Writes nested in create/update data (`data: { attachments: { create: [{ file: … }] } }`): the
 * file columns of every configured model they reach are checked like top-level ones (safe names,
 * within `maxLength` and the storage's limit, no file content), defaults filled in on nested
 * creates, and the names they write collected so the write references them in the ledger.
 * `releasingRelations` names the relations of a top-level update whose nested operations may
 * delete related rows or replace their names: the write reads those rows before and after (see
 * file-writes.ts) and releases what they stopped holding. Deeper levels are not followed (the
 * orphan scan finds what they leave).
 *
 * Relations come from the client's runtime data model (`_runtimeDataModel`, which Prisma's
 * generated clients carry); without it, nested data passes unchecked, as before.
 */
import type { LedgerFile } from '@filefield/core';
import { checkedData, writtenName } from './column-values';
import type { FileModel, FileModels } from './model-fields';

type Data = Record<string, unknown>;

interface RuntimeDataModel {
  models: Record<string, { fields: Array<{ name: string; kind: string; type: string }> }>;
}

/** Relation field → related model name, per model name. */
type Relations = Map<string, Map<string, string>>;

/** Nested operations that can delete related rows or change their columns. */
const RELEASING_OPERATIONS = ['delete', 'deleteMany', 'update', 'updateMany', 'upsert', 'set'];

export class NestedWrites {
  private readonly relations: Relations;

  constructor(
    client: object,
    private readonly models: FileModels,
  ) {
    this.relations = relationsOf((client as { _runtimeDataModel?: RuntimeDataModel })._runtimeDataModel);
  }

  /** Check `data` (one object or a list) written to `model`; returns the checked copy and the names it writes. */
  check(model: string, data: unknown, creating: boolean): { data: unknown; files: LedgerFile[] } {
    const files: LedgerFile[] = [];
    const checked = Array.isArray(data) ? data.map((item) => this.checkOne(model, item, creating, files)) : this.checkOne(model, data, creating, files);
    return { data: checked, files };
  }

  /** The relations of `model` (to models with file columns) whose nested operations in `data` may release names. */
  releasingRelations(modelName: string, data: unknown): Array<{ relation: string; target: FileModel }> {
    const found: Array<{ relation: string; target: FileModel }> = [];
    if (data === null || typeof data !== 'object') return found;
    for (const [relation, targetName] of this.relations.get(modelName) ?? []) {
      const target = this.models.named(targetName);
      const operations = (data as Data)[relation];
      if (!target || operations === null || typeof operations !== 'object') continue;
      if (RELEASING_OPERATIONS.some((operation) => operation in (operations as Data))) found.push({ relation, target });
    }
    return found;
  }

  private checkOne(modelName: string, data: unknown, creating: boolean, files: LedgerFile[]): unknown {
    if (data === null || typeof data !== 'object') return data;
    const model = this.models.named(modelName);
    let copy = data as Data;
    if (model) {
      copy = checkedData(model, data, creating) as Data;
      for (const field of model.fields.values()) {
        const name = writtenName(copy, field);
        if (name && !field.isDefault(name)) files.push({ storage: field.storage, name });
      }
    }
    const relations = this.relations.get(modelName);
    if (!relations) return copy;
    let result = copy;
    for (const [field, target] of relations) {
      const nested = copy[field];
      if (nested === null || typeof nested !== 'object') continue;
      const checked = this.checkRelation(target, nested as Data, files);
      if (checked !== nested) {
        if (result === data) result = { ...copy };
        result[field] = checked;
      }
    }
    return result;
  }

  /** A relation's nested operations: create, createMany, connectOrCreate, update, updateMany, upsert. */
  private checkRelation(target: string, operations: Data, files: LedgerFile[]): Data {
    const out: Data = { ...operations };
    const each = (value: unknown, check: (item: unknown) => unknown) => (Array.isArray(value) ? value.map(check) : check(value));
    const created = (item: unknown) => this.checkOne(target, item, true, files);
    const updated = (item: unknown) => this.checkOne(target, item, false, files);
    const withData = (item: unknown) =>
      item !== null && typeof item === 'object' && 'data' in item ? { ...(item as Data), data: updated((item as Data).data) } : updated(item);
    if ('create' in operations) out.create = each(operations.create, created);
    if ('createMany' in operations && operations.createMany && typeof operations.createMany === 'object') {
      const many = operations.createMany as Data;
      out.createMany = { ...many, data: each(many.data, created) };
    }
    if ('connectOrCreate' in operations) out.connectOrCreate = each(operations.connectOrCreate, (item) => ({ ...(item as Data), create: created((item as Data).create) }));
    if ('update' in operations) out.update = each(operations.update, withData);
    if ('updateMany' in operations) out.updateMany = each(operations.updateMany, withData);
    if ('upsert' in operations) {
      out.upsert = each(operations.upsert, (item) => ({ ...(item as Data), create: created((item as Data).create), update: updated((item as Data).update) }));
    }
    return out;
  }
}

function relationsOf(dataModel: RuntimeDataModel | undefined): Relations {
  const relations: Relations = new Map();
  for (const [name, model] of Object.entries(dataModel?.models ?? {})) {
    const fields = new Map<string, string>();
    for (const field of model.fields ?? []) if (field.kind === 'object') fields.set(field.name, field.type);
    if (fields.size > 0) relations.set(name, fields);
  }
  return relations;
}
