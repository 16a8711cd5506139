/**
 * `@FileField(options)`: declares the TypeORM column that stores a file's name (varchar of
 * `maxLength`, nullable, indexed) and the property that reads as a `FieldFile`.
 */
import { ConfigurationError, FileFieldDefinition, type FileFieldOptions } from '@filefield/core';
import { Column, Index } from 'typeorm';
import { createFileProperty, currentName, defineFileFieldAccessor } from './entity-state';
import { FileNameTransformer } from './file-columns';
import { filePropertiesOf, registerFileProperty } from './field-registry';
import { TypeOrmFieldFile } from './typeorm-field-file';

export interface FileFieldColumnOptions<T = any> extends FileFieldOptions<T> {
  /** The column's name in the database; TypeORM's naming strategy decides otherwise. */
  name?: string;
  /**
   * Index the column (default true). Deleting a file first asks whether any row still uses its
   * name, with `WHERE column IN (...)` queries that need this index on large tables.
   */
  index?: boolean;
}

const KNOWN_OPTIONS = new Set(['uploadTo', 'storage', 'default', 'maxLength', 'nullable', 'deleteReplaced', 'name', 'index']);

export function FileField<T = any>(options: FileFieldColumnOptions<T> = {}): PropertyDecorator {
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new ConfigurationError(`@FileField(): unknown option '${key}' (known: ${[...KNOWN_OPTIONS].join(', ')}).`);
    }
  }
  return (prototype: object, propertyKey: string | symbol) => {
    const model = (prototype.constructor as Function | undefined)?.name || 'Entity';
    if (typeof propertyKey !== 'string') {
      throw new ConfigurationError(`@FileField() on ${model}: the property must have a string name.`);
    }
    const { name, index = true, ...fieldOptions } = options;
    const field = new FileFieldDefinition<T>(model, propertyKey, fieldOptions);
    const property = createFileProperty(field);
    Column({
      type: 'varchar',
      length: field.maxLength,
      nullable: field.nullable,
      ...(name === undefined ? {} : { name }),
      transformer: new FileNameTransformer(property),
    })(prototype, propertyKey);
    if (index) Index()(prototype, propertyKey);
    registerFileProperty(prototype, property);
    defineFileFieldAccessor(prototype, property, (entity, definition, fileName) => new TypeOrmFieldFile(entity, definition, fileName));
    if (!('toJSON' in prototype)) {
      Object.defineProperty(prototype, 'toJSON', { value: fileFieldsToJSON, writable: true, configurable: true, enumerable: false });
    }
  };
}

/**
 * `JSON.stringify(entity)` for entities with file fields: the own properties, and each file
 * field as its name (the accessor lives on the prototype, which JSON.stringify does not read).
 * Installed only on classes that define no `toJSON` of their own.
 */
function fileFieldsToJSON(this: object): Record<string, unknown> {
  // A loop rather than `{ ...this }`: V8 spreads objects with symbol keys (the slots) 5x slower.
  const json: Record<string, unknown> = {};
  for (const key of Object.keys(this)) json[key] = (this as Record<string, unknown>)[key];
  for (const property of filePropertiesOf(this.constructor)) {
    const name = currentName(this, property);
    if (name !== undefined) json[property.field.property] = name;
  }
  return json;
}
