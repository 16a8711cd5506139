/**
 * Which properties of which classes are file fields. `@FileField` records each one here;
 * lookups walk the prototype chain so subclasses see their parents' fields.
 */
import type { FileProperty } from './entity-state';

const declared = new WeakMap<object, Map<string, FileProperty>>();
const resolved = new WeakMap<object, readonly FileProperty[]>();

export function registerFileProperty(prototype: object, property: FileProperty): void {
  let properties = declared.get(prototype);
  if (!properties) declared.set(prototype, (properties = new Map()));
  properties.set(property.field.property, property);
}

/** The file fields of a class, its parents' first. */
export function filePropertiesOf(target: Function): readonly FileProperty[] {
  const cached = resolved.get(target);
  if (cached) return cached;
  const chain: object[] = [];
  for (let proto = target.prototype as object | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    chain.unshift(proto);
  }
  const byName = new Map<string, FileProperty>();
  for (const proto of chain) for (const [name, property] of declared.get(proto) ?? []) byName.set(name, property);
  const properties = [...byName.values()];
  resolved.set(target, properties);
  return properties;
}
