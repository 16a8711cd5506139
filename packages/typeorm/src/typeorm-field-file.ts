/**
 * The FieldFile that `@FileField` properties hand out: the core's FieldFile with a host that
 * (1) saves its entity through TypeORM, (2) claims upload names in the DataSource's ledger,
 * (3) re-attaches the FieldFile to its entity after an upload, as Django does, and (4) remembers
 * uploads until a transaction writes them, so an upload whose transaction rolls back goes to the
 * sweeper at once.
 */
import { type Content, FieldFile, type FieldFileHost, type FieldFileSaveOptions, type FileFieldDefinition } from '@filefield/core';
import { stateOf } from './entity-state';
import { lifecycleOf, managerFor } from './managers';

export const typeOrmFieldFileHost: FieldFileHost<any> = {
  async persist(instance: object, field, _file, change) {
    if (change?.discarded) stateOf(instance).discard(field.property, change.discarded);
    await managerFor(instance).save(instance);
  },
  nameClaim(instance: object, field) {
    const lifecycle = boundLifecycle(instance);
    if (!lifecycle) return undefined;
    const claim = lifecycle.ledger.nameClaim(field.storage);
    return {
      async claim(name) {
        const claimed = await claim.claim(name);
        if (claimed) lifecycle.claimed({ storage: field.storage, name });
        return claimed;
      },
      release: (name) => claim.release(name),
    };
  },
  uploaded(instance: object, field, file, name) {
    (instance as Record<string, unknown>)[field.property] = file;
    stateOf(instance).rememberUpload(field.property, name);
  },
  async abandon(instance: object, field, name) {
    const lifecycle = boundLifecycle(instance);
    if (!lifecycle) return;
    await lifecycle.ledger.abandon([{ storage: field.storage, name }]);
    lifecycle.sweeper?.nudge();
  },
};

export class TypeOrmFieldFile<T extends object = any> extends FieldFile<T> {
  constructor(instance: T, field: FileFieldDefinition<T>, name: string | null) {
    super(instance, field, name, typeOrmFieldFileHost);
  }

  /**
   * Upload `content` (uploadTo applied once, always a free name, claimed in the ledger) and,
   * unless `{ save: false }`, save the entity. If saving fails, the field gets its previous name
   * back and the upload goes to the sweeper.
   */
  override async save(name: string | undefined, content: Content, options: FieldFileSaveOptions = {}): Promise<string> {
    // Fail before uploading when the entity could not be saved afterwards.
    if (options.save ?? true) managerFor(this.instance);
    return super.save(name, content, options);
  }
}

/** The lifecycle of the DataSource this entity would be saved through, if one can be told. */
function boundLifecycle(instance: object) {
  try {
    return lifecycleOf(managerFor(instance).connection);
  } catch {
    return undefined;
  }
}
