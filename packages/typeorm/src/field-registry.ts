/**
 * Which properties of which classes are file fields. `@FileField` records each definition here;
 * lookups walk the prototype chain so subclasses see their parents' fields.
 */
import type { FileFieldDefinition } from '@filefield/core';

const declared = new WeakMap<object, Map<string, FileFieldDefinition>>();
const resolved = new WeakMap<object, ReadonlyMap<string, FileFieldDefinition>>();

export function registerFileField(prototype: object, field: FileFieldDefinition): void {
  let fields = declared.get(prototype);
  if (!fields) declared.set(prototype, (fields = new Map()));
  fields.set(field.property, field);
}

/** The file fields of a class (its own and inherited), by property name. */
export function fileFieldsOf(target: Function): ReadonlyMap<string, FileFieldDefinition> {
  const cached = resolved.get(target);
  if (cached) return cached;
  const chain: object[] = [];
  for (let proto = target.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    chain.unshift(proto);
  }
  const fields = new Map<string, FileFieldDefinition>();
  for (const proto of chain) for (const [property, field] of declared.get(proto) ?? []) fields.set(property, field);
  resolved.set(target, fields);
  return fields;
}
