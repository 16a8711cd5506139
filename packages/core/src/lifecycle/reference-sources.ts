/**
 * Who may still name a file: every ORM installation in the process registers a reference source
 * (a TypeORM DataSource, a Prisma client extended with fileFields()). The sweeper and the orphan
 * scan ask all sources that use a storage, by storage id, so two DataSources, a Prisma client
 * beside them, or two fields whose factory built two objects for one bucket protect each other's
 * files.
 */
import type { Storage } from '../storage';

export interface ReferenceSource {
  /** A label for messages (`TypeORM DataSource (postgres)`). */
  readonly label: string;
  /** The storages this source's file fields use, resolved now (throws when one cannot be). */
  storages(): Iterable<Storage>;
  /**
   * Which of `names` a row of this source stores in a column whose field uses the storage
   * `storageId`, compared byte for byte whatever the column's collation; a field's default name
   * counts as referenced. `names` come in batches of at most a few hundred.
   */
  referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>>;
}

/** Names per `referencedNames` call. */
export const REFERENCE_BATCH_SIZE = 500;

export class ReferenceSources {
  private readonly sources = new Set<ReferenceSource>();

  /** Add a source; returns the function that removes it again. */
  register(source: ReferenceSource): () => void {
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
    };
  }

  get size(): number {
    return this.sources.size;
  }

  /**
   * Every storage a source uses, by id (one object per id). Throws when a source cannot resolve
   * its storages: until it can, nobody can tell which files it references.
   */
  storagesById(): Map<string, Storage> {
    const byId = new Map<string, Storage>();
    for (const source of this.sources) {
      for (const storage of source.storages()) if (!byId.has(storage.id)) byId.set(storage.id, storage);
    }
    return byId;
  }

  /** The names any source still references, asked in batches. */
  async referencedNames(storageId: string, names: readonly string[]): Promise<Set<string>> {
    const referenced = new Set<string>();
    for (const source of this.sources) {
      const open = names.filter((name) => !referenced.has(name));
      for (let start = 0; start < open.length; start += REFERENCE_BATCH_SIZE) {
        for (const name of await source.referencedNames(storageId, open.slice(start, start + REFERENCE_BATCH_SIZE))) referenced.add(name);
      }
      if (referenced.size === names.length) break;
    }
    return referenced;
  }
}

const SHARED_REFERENCES = Symbol.for('@filefield/core/fileReferences');

/**
 * The process-wide registry installations register with, shared by every loaded copy of the core
 * (copies of incompatible versions refuse to load, see registry.ts): a DataSource installed
 * through one copy protects the files a sweeper of another copy checks.
 */
export const fileReferences: ReferenceSources = ((globalThis as { [SHARED_REFERENCES]?: ReferenceSources })[SHARED_REFERENCES] ??= new ReferenceSources());
