/**
 * "Which of these names does a row still store?" for the core's sweeper and orphan scan,
 * answered for one `fileFields()` extension: the core's `referencedNamesIn` (defaults count,
 * names compared byte for byte) asks each column using the storage with Prisma queries on the
 * client the extension was applied to, `findMany({ where: { column: { in: names } } })` paged by
 * primary key. Every matching row's value comes back (`groupBy`/`distinct` would let MariaDB's
 * case-insensitive collation fold `a.txt` and `A.txt` into one answer).
 */
import { type ReferenceSource, type Storage, referencedNamesIn } from '@filefield/core';
import type { FileModel, FileModels } from './model-fields';

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

  referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>> {
    return referencedNamesIn(
      this.models.columnsUsing(storageId).map(({ model, field }) => ({
        defaultName: field.defaultName,
        storedAmong: (open: readonly string[]) => this.storedAmong(model, field.property, open),
      })),
      names,
    );
  }

  /** The values of `property` equal to one of `names` as the database compares, paged by primary key. */
  private async storedAmong(model: FileModel, property: string, names: readonly string[]): Promise<unknown[]> {
    const delegate = (this.client as Record<string, FindManyDelegate>)[model.key];
    const values: unknown[] = [];
    let after: unknown;
    for (;;) {
      const rows = await delegate.findMany({
        where: { [property]: { in: [...names] }, ...(after === undefined ? {} : { [model.primaryKey]: { gt: after } }) },
        select: { [model.primaryKey]: true, [property]: true },
        orderBy: { [model.primaryKey]: 'asc' },
        take: PAGE,
      });
      for (const row of rows) values.push(row[property]);
      if (rows.length < PAGE) return values;
      after = rows[rows.length - 1][model.primaryKey];
    }
  }
}
