/**
 * Where a file field's value lives on an entity, and the property accessor that reads it.
 *
 * Loading must stay cheap (10k rows with two file fields within 15% of plain columns), so the
 * accessor lives on the class prototype and a loaded row's name is stored in a hidden
 * symbol-keyed slot of the entity (see hydration.ts); a `FieldFile` is built on first read and
 * cached in the same slot. (An accessor defined on each loaded instance would cost ~0.5 µs per
 * property, a state object per entity an allocation per row.)
 *
 * A slot holds: undefined (never assigned), null (no file), a name as loaded, or the FieldFile
 * handed out — which a copy made with Object.assign/spread may have taken from another entity. An
 * unassigned slot means the field's default on a new entity, and "not selected" on a loaded one (a
 * partial select): then the property reads as undefined, as any column TypeORM did not load.
 *
 * Change tracking (the core FieldFile's `savedName`, `assigned` and `changed`): the program changed
 * a field when it assigned it (a name, null, a copy) or gave its FieldFile another name (`save()`,
 * `delete()`, `file.name = …`); every FieldFile remembers the name it started from (its baseline,
 * `savedName`). A field the program did not change is not written when the
 * entity is saved: the subscriber puts the database's own value back first, so a stale or
 * hand-built entity never writes an old name over a newer one.
 */
import { FieldFile, type FileFieldDefinition, FileFieldError } from '@filefield/core';
import type { EntityManager } from 'typeorm';

/**
 * Set (to `ROW`) on entities TypeORM creates itself (see hydration.ts) and on revived ones: they
 * hold only the columns they were given, a file field they were not given reads undefined, and
 * the names they were given are their baseline.
 */
export const LOADED = Symbol('filefield.loaded');
export const ROW = 1;

/** Set on the prototype of every class with file fields. */
export const HAS_FILE_FIELDS = Symbol('filefield.hasFileFields');

/** A file field as declared on a class: its definition and the slot holding its value on entities. */
export interface FileProperty {
  readonly field: FileFieldDefinition;
  readonly slot: symbol;
}

type SlotValue = string | null | undefined | FieldFile;
type Slots = Record<symbol, SlotValue> & { [LOADED]?: typeof ROW };

export function createFileProperty(field: FileFieldDefinition): FileProperty {
  return { field, slot: Symbol(field.property) };
}

/**
 * Install the accessor on `prototype`: reading gives a FieldFile (empty when no file, the default
 * file for a new entity), assigning a name, a FieldFile or null replaces it.
 */
export function defineFileFieldAccessor(
  prototype: object,
  { field, slot }: FileProperty,
  createFile: (entity: object, field: FileFieldDefinition, name: string | null) => FieldFile,
): void {
  if (!Object.hasOwn(prototype, HAS_FILE_FIELDS)) Object.defineProperty(prototype, HAS_FILE_FIELDS, { value: true });
  const assign = (entity: Slots, name: string | null) => {
    // The name the field held before, kept as the baseline the change is measured against.
    const previous = entity[slot];
    const file = createFile(entity, field, name);
    file.savedName = typeof previous === 'object' && previous !== null ? previous.savedName : previous === undefined && !entity[LOADED] ? (field.defaultName ?? null) : previous;
    file.assigned = true;
    entity[slot] = file;
  };
  Object.defineProperty(prototype, field.property, {
    configurable: true,
    enumerable: true,
    get(this: Slots): FieldFile | undefined {
      const value = this[slot];
      if (typeof value === 'object' && value !== null) {
        if (value.instance === this) return value;
        assign(this, value.name); // copied, with the other properties, from another entity
        return this[slot] as FieldFile;
      }
      let name: string | null;
      if (value === undefined) {
        if (this[LOADED] || isClassPrototype(this)) return undefined;
        name = field.defaultName ?? null;
      } else {
        name = value;
      }
      const file = createFile(this, field, name);
      this[slot] = file;
      return file;
    },
    set(this: Slots, value: unknown) {
      if (typeof value === 'string') {
        assign(this, value === '' ? null : value);
      } else if (value === null || value === undefined) {
        assign(this, null);
      } else if (value instanceof FieldFile) {
        if (value.instance === this && value.field === field) {
          this[slot] = value as FieldFile;
        } else {
          assertSameStorage(value.field, field);
          assign(this, value.name);
        }
      } else {
        throw new FileFieldError('E_INVALID_VALUE', `${field.label} accepts a file name (string), a FieldFile or null, not ${describe(value)}.`);
      }
    },
  });
}

/** The name the field holds, without creating a FieldFile; undefined when a query did not load the column. */
export function currentName(entity: object, { field, slot }: FileProperty): string | null | undefined {
  const value = (entity as Slots)[slot];
  if (typeof value === 'object' && value !== null) return value.name;
  if (value === undefined) return (entity as Slots)[LOADED] ? undefined : (field.defaultName ?? null);
  return value;
}

/**
 * What the program did to a field since the entity was loaded or last saved: `changed` when it
 * assigned the field or gave its FieldFile another name; `baseline` is the name it held then
 * (undefined: not known). A field the program never touched is unchanged.
 */
export function fieldChange(entity: object, { slot }: FileProperty): { changed: boolean; baseline: string | null | undefined } {
  const value = (entity as Slots)[slot];
  if (typeof value !== 'object' || value === null || value.instance !== entity) return { changed: false, baseline: value === null || typeof value === 'string' ? value : undefined };
  return { changed: value.changed, baseline: value.savedName };
}

/** The field now holds what its row holds: `name` (the database's), or the name just written. */
export function settleField(entity: object, { slot }: FileProperty, name: string | null): void {
  const value = (entity as Slots)[slot];
  if (typeof value === 'object' && value !== null && value.instance === entity) value.settle(name);
  else (entity as Slots)[slot] = name;
}

/** What filefield remembers about an entity beyond its fields' values (rarely needed: kept apart). */
export class EntityFileState {
  /** The entity it belongs to; a copy made by Object.assign/spread gets its own on first use. */
  readonly owner: object;
  /** The EntityManager `FieldFile.save()` saves this entity with (see managers.ts). */
  manager: EntityManager | undefined;
  /** Names uploaded through this entity's FieldFiles that no write has taken yet, by property. */
  private uploads: Map<string, Set<string>> | undefined;
  /** Names `FieldFile.delete()` took off the entity, released when it is next written, by property. */
  private discarded: Map<string, string> | undefined;

  constructor(owner: object) {
    this.owner = owner;
  }

  rememberUpload(property: string, name: string): void {
    this.uploads ??= new Map();
    let names = this.uploads.get(property);
    if (!names) this.uploads.set(property, (names = new Set()));
    names.add(name);
  }

  /** Whether `name` was uploaded through this entity's `property` and not written yet; forgets it. */
  takeUpload(property: string, name: string): boolean {
    return this.uploads?.get(property)?.delete(name) ?? false;
  }

  discard(property: string, name: string): void {
    (this.discarded ??= new Map()).set(property, name);
  }

  /** The name `delete()` took off `property`, once (the write that releases it). */
  takeDiscarded(property: string): string | undefined {
    const name = this.discarded?.get(property);
    this.discarded?.delete(property);
    return name;
  }
}

const STATE = Symbol('filefield.entity');

export function stateOf(entity: object): EntityFileState {
  const existing = existingStateOf(entity);
  if (existing) return existing;
  const state = new EntityFileState(entity);
  (entity as { [STATE]?: EntityFileState })[STATE] = state;
  return state;
}

export function existingStateOf(entity: object): EntityFileState | undefined {
  const state = (entity as { [STATE]?: EntityFileState })[STATE];
  return state !== undefined && state.owner === entity ? state : undefined;
}

function assertSameStorage(from: FileFieldDefinition, to: FileFieldDefinition): void {
  if (from.storage.id === to.storage.id) return;
  throw new FileFieldError(
    'E_OTHER_STORAGE',
    `${to.label}: the FieldFile assigned comes from ${from.label}, which uses another storage, so its name would point at ` +
      `a missing file. Copy the content instead: await target.${to.property}.save(name, await source.${from.property}.read()).`,
  );
}

function isClassPrototype(object: object): boolean {
  return Object.hasOwn(object, 'constructor') && (object as { constructor: { prototype?: unknown } }).constructor.prototype === object;
}

function describe(value: unknown): string {
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `a ${typeof value}`;
}
