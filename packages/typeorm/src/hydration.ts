/**
 * Cheap loading. TypeORM hydrates a row by creating the entity (`EntityMetadata.create`, with a
 * QueryRunner and `fromDeserializer`) and assigning each column (`ColumnMetadata.setEntityValue`,
 * i.e. `entity[property] = value` from one generic call site). Through that site a prototype
 * setter costs V8 a runtime call per value (~1,250 instructions, measured), and an afterLoad
 * subscriber another ~2,000 per row — together more than the whole 15% budget of plain columns.
 *
 * So for the entities of an installed DataSource, filefield wraps these two public methods on
 * the metadata objects (not TypeORM's classes): a loaded file column's name goes straight into
 * its slot, and an entity TypeORM deserialises is marked as such (so a column a partial select
 * left out reads as undefined and is not written back) and bound to its transactional
 * EntityManager (or, with several DataSources installed, to its DataSource). Without `installFileFields` the accessor still works, only slower (and a
 * partial select reads as the default). `uninstall()` restores the methods.
 */
import type { EntityMetadata, QueryRunner } from 'typeorm';
import { HAS_FILE_FIELDS, LOADED, ROW } from './entity-state';
import { fileColumnsOf } from './file-columns';
import { bindLoaded } from './managers';

type CreateOptions = { fromDeserializer?: boolean; pojo?: boolean };
type Marked = Record<symbol, unknown>;

/** Wrap `metadata`'s hydration methods; returns the function that undoes it. */
export function installHydration(metadata: EntityMetadata): () => void {
  const undo: Array<() => void> = [];

  const create = metadata.create;
  undo.push(override(metadata, 'create', function createEntity(this: EntityMetadata, queryRunner?: QueryRunner, options?: CreateOptions) {
    const entity = create.call(this, queryRunner, options) as Marked;
    // `fromDeserializer`: a row of a query result, or a related entity TypeORM builds from a
    // plain object (create/merge/preload; TypeORM calls both the same way). Either holds only the
    // columns it was given, and counts as loaded: its file names are its baseline.
    if (options?.fromDeserializer && !options.pojo && entity[HAS_FILE_FIELDS] === true) {
      entity[LOADED] = ROW;
      bindLoaded(entity, this.connection, queryRunner);
    }
    return entity;
  }));

  for (const { column, slot } of fileColumnsOf(metadata)) {
    const setEntityValue = column.setEntityValue;
    undo.push(override(column, 'setEntityValue', function setFileName(this: typeof column, entity: Marked, value: unknown) {
      if ((typeof value === 'string' || value === null) && entity[LOADED] === ROW) {
        entity[slot] = value === '' ? null : value;
      } else {
        setEntityValue.call(this, entity, value);
      }
    }));
  }
  return () => {
    for (const restore of undo.reverse()) restore();
  };
}

function override<T extends object, K extends keyof T>(target: T, key: K, replacement: T[K]): () => void {
  const own = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, { value: replacement, writable: true, configurable: true, enumerable: false });
  return () => {
    if (own) Object.defineProperty(target, key, own);
    else delete target[key];
  };
}
