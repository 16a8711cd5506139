/**
 * The other half of the JSON round trip (Django's "push the objects into the cache"):
 * `JSON.stringify(entity)` gives the file names, `reviveEntity` turns them back into an entity
 * whose file fields are FieldFiles again. Like TypeORM's own hydration, the constructor is not
 * run; nested relations stay plain objects. The revived entity counts as loaded: its file names
 * are what the row held, a file field the JSON leaves out reads undefined, and saving it writes
 * only what the program changes afterwards.
 */
import { FileFieldError } from '@filefield/core';
import { LOADED, ROW } from './entity-state';
import { filePropertiesOf } from './field-registry';

export function reviveEntity<T extends object>(target: abstract new (...args: any[]) => T, json: string | object): T {
  const data: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new FileFieldError('E_INVALID_VALUE', `reviveEntity(${target.name}, …) needs one JSON object; map arrays yourself.`);
  }
  const entity = Object.create(target.prototype) as Record<PropertyKey, unknown>;
  const properties = new Map(filePropertiesOf(target).map((property) => [property.field.property, property]));
  if (properties.size > 0) entity[LOADED] = ROW;
  for (const [key, value] of Object.entries(data)) {
    const property = properties.get(key);
    if (property && (typeof value === 'string' || value === null)) entity[property.slot] = value === '' ? null : value;
    else entity[key] = value;
  }
  return entity as T;
}
