/**
 * What a file column may be given in create/update data, checked before the query runs:
 * a stored name (validated like every name) or null. File content is refused with a message
 * that says how to upload it. (A FieldFile cannot be passed either: Prisma deep-clones the
 * arguments before any extension sees them, and a FieldFile's graph is not clonable; pass
 * `file.name`.)
 */
import { FieldFile, type FileFieldDefinition } from '@filefield/core';
import { FileColumnValueError } from './errors';
import type { FileModel } from './model-fields';

/** The stored name a result or pre-read value carries (a FieldFile once the result extension ran). */
export function storedName(value: unknown): string | null {
  if (value instanceof FieldFile) return value.name;
  return typeof value === 'string' && value !== '' ? value : null;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

function checkedName(field: FileFieldDefinition, value: unknown): string | null {
  if (value === null || value === '') return value;
  if (typeof value === 'string') return field.assertStorable(value);
  throw new FileColumnValueError(field.label, describe(value));
}

/** One column's value: a plain value or Prisma's `{ set: value }`. */
function checkedValue(field: FileFieldDefinition, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && Object.keys(value).length === 1 && 'set' in value) {
    return { set: checkedName(field, (value as { set: unknown }).set) };
  }
  return checkedName(field, value);
}

/**
 * A copy of one `data` object with its file columns checked; when `creating`, a field's
 * `default` name fills a column the data leaves out (Django stores the default in the row too).
 */
export function checkedData(model: FileModel, data: unknown, creating: boolean): unknown {
  if (data === null || typeof data !== 'object') return data;
  const copy: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const field of model.fields.values()) {
    const value = copy[field.property];
    if (value === undefined) {
      if (creating && field.defaultName !== undefined) copy[field.property] = field.defaultName;
      continue;
    }
    copy[field.property] = checkedValue(field, value);
  }
  return copy;
}

/** The new name a checked `data` object writes to `field` (undefined when it is not a literal). */
export function writtenName(data: unknown, field: FileFieldDefinition): string | null | undefined {
  const value = (data as Record<string, unknown>)[field.property];
  const literal = value !== null && typeof value === 'object' && 'set' in value ? (value as { set: unknown }).set : value;
  if (literal === null || literal === '') return null;
  return typeof literal === 'string' ? literal : undefined;
}
