/**
 * A typed way to assign a file field. `@FileField() avatar!: FieldFile` reads as a FieldFile, and
 * TypeScript lets no other type be assigned to it; the accessor takes a name, a FieldFile or null
 * (`user.avatar = 'name' as never` works at run time). `assignFile` says the same, checked.
 * `user.avatar.name = 'avatars/a.png'` (or `= null`) is the other typed spelling.
 */
import type { FieldFile } from '@filefield/core';

/** The keys of `T` whose properties are file fields (typed `FieldFile`). */
export type FileFieldKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends FieldFile ? K : never }[keyof T];

/** `entity[property] = value`, for a file field: a stored name, a FieldFile (its name), or null for no file. */
export function assignFile<T extends object, K extends FileFieldKeys<T>>(entity: T, property: K, value: string | FieldFile | null): T {
  (entity as Record<PropertyKey, unknown>)[property as PropertyKey] = value;
  return entity;
}
