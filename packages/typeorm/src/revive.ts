/**
 * The other half of the JSON round trip (Django's "push the objects into the cache"):
 * `JSON.stringify(entity)` gives the file names, `reviveEntity` turns them back into an entity
 * whose file fields are FieldFiles again. Like TypeORM's own hydration, the constructor is not
 * run; nested relations stay plain objects.
 */
import { FileFieldError } from '@filefield/core';

export function reviveEntity<T extends object>(target: abstract new (...args: any[]) => T, json: string | object): T {
  const data: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new FileFieldError('E_INVALID_VALUE', `reviveEntity(${target.name}, …) needs one JSON object; map arrays yourself.`);
  }
  return Object.assign(Object.create(target.prototype) as T, data);
}
