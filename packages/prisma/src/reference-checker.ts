/**
 * The core's `ReferenceChecker` answered with Prisma queries: for every configured column that
 * uses the storage, one `groupBy ... WHERE column IN (...)` per chunk of names (an indexed
 * lookup when the column has an index, returning each referenced name once).
 */
import type { ReferenceChecker, Storage } from '@filefield/core';
import type { FileModels } from './model-fields';

/** Names per `IN (...)` list; well under every provider's bind-parameter limit. */
export const REFERENCE_CHUNK_SIZE = 500;

type GroupByDelegate = {
  groupBy(args: { by: string[]; where: Record<string, unknown> }): Promise<Array<Record<string, unknown>>>;
};

export class PrismaReferenceChecker implements ReferenceChecker {
  /** `client` must be outside any transaction: checks run after commit and read committed rows. */
  constructor(
    private readonly client: object,
    private readonly models: FileModels,
  ) {}

  async referencedNames(storage: Storage, names: readonly string[]): Promise<Set<string>> {
    const referenced = new Set<string>();
    if (names.length === 0) return referenced;
    for (const { model, field } of this.models.columnsUsing(storage)) {
      const delegate = (this.client as Record<string, GroupByDelegate>)[model.key];
      for (let start = 0; start < names.length; start += REFERENCE_CHUNK_SIZE) {
        const chunk = names.slice(start, start + REFERENCE_CHUNK_SIZE).filter((name) => !referenced.has(name));
        if (chunk.length === 0) continue;
        const groups = await delegate.groupBy({ by: [field.property], where: { [field.property]: { in: chunk } } });
        for (const group of groups) {
          const name = group[field.property];
          if (typeof name === 'string') referenced.add(name);
        }
      }
    }
    return referenced;
  }
}
