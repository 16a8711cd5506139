/**
 * The FieldFile that `@FileField` properties hand out. It behaves as the core's FieldFile and
 * additionally (1) persists its entity through TypeORM (`FieldFileHost`), (2) re-attaches itself
 * to its entity after an upload, as Django does, and (3) remembers its uploads until they are
 * committed, so an upload whose transaction rolls back can be deleted.
 */
import { type Content, FieldFile, type FieldFileHost, type FieldFileSaveOptions, type FileFieldDefinition } from '@filefield/core';
import { stateOf } from './entity-state';
import { managerFor } from './managers';

/** Saves the owning entity with its manager: an INSERT when it is new, an UPDATE otherwise. */
export const typeOrmFieldFileHost: FieldFileHost = {
  async persist(instance: object): Promise<void> {
    await managerFor(instance).save(instance);
  },
};

export class TypeOrmFieldFile<T extends object = any> extends FieldFile<T> {
  constructor(instance: T, field: FileFieldDefinition<T>, name: string | null) {
    super(instance, field, name, typeOrmFieldFileHost);
  }

  /**
   * Upload `content` (uploadTo applied once, a unique name unless the storage overwrites) and,
   * unless `{ save: false }`, save the entity. If saving fails, the field gets its previous name
   * back; the upload is deleted when the transaction that tried to save it rolls back.
   */
  override async save(name: string | undefined, content: Content, options: FieldFileSaveOptions = {}): Promise<string> {
    const persist = options.save ?? true;
    // Fail before uploading when the entity could not be saved afterwards.
    if (persist) managerFor(this.instance);
    const previous = this.name;
    const stored = await super.save(name, content, { save: false });
    const state = stateOf(this.instance);
    (this.instance as Record<string, unknown>)[this.field.property] = this;
    const uploads = (state.uploads ??= new Map());
    let names = uploads.get(this.field.property);
    if (!names) uploads.set(this.field.property, (names = new Set()));
    names.add(stored);
    if (persist) {
      try {
        await typeOrmFieldFileHost.persist(this.instance, this.field, this);
      } catch (error) {
        restoreName(this, previous);
        throw error;
      }
    }
    return stored;
  }
}

function restoreName(file: FieldFile, previous: string | null): void {
  try {
    file.name = previous;
  } catch {
    // A stored name the core refuses (a legacy row): leave the new name rather than hide the save error.
  }
}
