/**
 * The per-entity state behind `@FileField` properties, and the property accessor itself.
 *
 * Loading must stay cheap (10k rows with two file fields within 15% of plain columns), so the
 * accessor lives on the class prototype and hydration only stores the column's name in one
 * state object per entity; a `FieldFile` is built on first read and cached. Defining an
 * accessor on each loaded instance would cost ~0.5 µs per property and blow that budget.
 */
import { inspect } from 'node:util';
import { FieldFile, type FileFieldDefinition, FileFieldError } from '@filefield/core';
import type { EntityManager } from 'typeorm';

/** Marks a column the loading query did not select: the property reads as undefined and is not written back. */
export const NOT_SELECTED: unique symbol = Symbol('filefield.notSelected');

type StoredName = string | null | typeof NOT_SELECTED;

const STATE = Symbol('filefield');

export class FileFieldState {
  /** The entity this state belongs to; a copy made by Object.assign/spread gets its own state on first use. */
  readonly owner: object;
  /** Names by property; a missing key means "never assigned" (a new entity: the field's default). */
  readonly names: Record<string, StoredName> = {};
  /** FieldFiles handed out, by property (so `entity.file.open(); entity.file.read()` keeps its position). */
  files: Record<string, FieldFile | undefined> | undefined;
  /** The transactional EntityManager this entity was last loaded or saved with, for `FieldFile.save`. */
  manager: EntityManager | undefined;
  /** Names uploaded through this entity's FieldFiles and not yet committed, by property. */
  uploads: Map<string, Set<string>> | undefined;

  constructor(owner: object, names?: Record<string, StoredName>) {
    this.owner = owner;
    if (names) Object.assign(this.names, names);
  }

  [inspect.custom](): Record<string, StoredName> {
    return this.names;
  }
}

type WithState = { [STATE]?: FileFieldState };

/** The entity's state, created on first use (and split off when the state was copied from another object). */
export function stateOf(entity: object): FileFieldState {
  let state = (entity as WithState)[STATE];
  if (state === undefined) {
    if (isClassPrototype(entity)) throw new FileFieldError('E_NOT_AN_ENTITY', 'File fields are read on entities, not on their class prototype.');
    state = new FileFieldState(entity);
    (entity as WithState)[STATE] = state;
  } else if (state.owner !== entity) {
    state = new FileFieldState(entity, state.names);
    (entity as WithState)[STATE] = state;
  }
  return state;
}

/** The state if this entity has one of its own (no allocation). */
export function existingStateOf(entity: object): FileFieldState | undefined {
  const state = (entity as WithState)[STATE];
  return state !== undefined && state.owner === entity ? state : undefined;
}

/**
 * Install the accessor for `field` on `prototype`: reading gives a FieldFile (empty when no file,
 * the default file for a new entity), assigning a name, a FieldFile or null replaces it.
 */
export function defineFileFieldAccessor(
  prototype: object,
  field: FileFieldDefinition,
  createFile: (entity: object, field: FileFieldDefinition, name: string | null) => FieldFile,
): void {
  const property = field.property;
  Object.defineProperty(prototype, property, {
    configurable: true,
    enumerable: true,
    get(this: object): FieldFile | undefined {
      const state = stateOf(this);
      const cached = state.files?.[property];
      if (cached !== undefined) return cached;
      const stored = state.names[property];
      if (stored === NOT_SELECTED) return undefined;
      const file = createFile(this, field, stored === undefined ? (field.defaultName ?? null) : stored);
      (state.files ??= {})[property] = file;
      return file;
    },
    set(this: object, value: unknown) {
      const state = stateOf(this);
      // The hot path: TypeORM hydrating a loaded row assigns the column's string (or null).
      if (typeof value === 'string' || value === null || value === undefined) {
        state.names[property] = value === '' || value === undefined ? null : value;
        if (state.files !== undefined) state.files[property] = undefined;
        return;
      }
      if (value instanceof FieldFile) {
        state.names[property] = value.name;
        if (value.instance === this && value.field === field) {
          (state.files ??= {})[property] = value;
        } else {
          assertSameStorage(value.field, field);
          if (state.files !== undefined) state.files[property] = undefined;
        }
        return;
      }
      throw new FileFieldError(
        'E_INVALID_VALUE',
        `${field.label} accepts a file name (string), a FieldFile or null, not ${describe(value)}.`,
      );
    },
  });
}

/** Mark columns a partial select left out, so saving the entity does not overwrite them. */
export function markUnselected(entity: object, properties: readonly string[]): void {
  const state = stateOf(entity);
  for (const property of properties) {
    if (!(property in state.names) && state.files?.[property] === undefined) state.names[property] = NOT_SELECTED;
  }
}

function assertSameStorage(from: FileFieldDefinition, to: FileFieldDefinition): void {
  if (from.storage === to.storage) return;
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
