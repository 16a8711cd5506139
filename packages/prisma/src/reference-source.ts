/**
 * "Which of these names does a row still store?" for the core's sweeper and orphan scan,
 * answered for one `fileFields()` extension with Prisma queries on the client it was applied
 * to: per column using the storage, `findMany({ where: { column: { in: names } } })` paged by
 * primary key, asking only about names not found yet. Names are compared in JavaScript, byte for
 * byte: `groupBy`/`distinct` would let MariaDB's case-insensitive collation fold `a.txt` and
 * `A.txt` into one answer. A field's default always counts as referenced.
 */
import type { ReferenceSource, Storage } from '@filefield/core';
import type { FileModels } from './model-fields';

/** Rows per page of a reference query. */
const PAGE = 1000;

type FindManyDelegate = { findMany(args: Record<string, unknown>): Promise<Array<Record<string, unknown>>> };

export class PrismaReferenceSource implements ReferenceSource {
  readonly label = 'Prisma fileFields() extension';

  constructor(
    private readonly client: object,
    private readonly models: FileModels,
  ) {}

  *storages(): Iterable<Storage> {
    for (const model of this.models.all) for (const field of model.fields.values()) yield field.storage;
  }

  async referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>> {
    const referenced = new Set<string>();
    const columns = this.models.columnsUsing(storageId);
    for (const { field } of columns) if (field.defaultName !== undefined && names.includes(field.defaultName)) referenced.add(field.defaultName);
    for (const { model, field } of columns) {
      const open = new Set(names.filter((name) => !referenced.has(name)));
      const delegate = (this.client as Record<string, FindManyDelegate>)[model.key];
      let after: unknown;
      while (open.size > 0) {
        const rows = await delegate.findMany({
          where: { [field.property]: { in: [...open] }, ...(after === undefined ? {} : { [model.primaryKey]: { gt: after } }) },
          select: { [model.primaryKey]: true, [field.property]: true },
          orderBy: { [model.primaryKey]: 'asc' },
          take: PAGE,
        });
        for (const row of rows) {
          const name = row[field.property];
          if (typeof name === 'string' && open.delete(name)) referenced.add(name);
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1][model.primaryKey];
      }
    }
    return referenced;
  }
}
