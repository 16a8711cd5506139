/**
 * The configured file columns, resolved against the Prisma client once, when the extension is
 * applied: unknown models, unknown or non-String columns and a missing primary key fail there,
 * with the names to fix.
 */
import { ConfigurationError, FileFieldDefinition, type FileFieldOptions, type StorageRegistry } from '@filefield/core';

/** One model's file columns. */
export class FileModel {
  /** The client property (`myStorage`). */
  readonly key: string;
  /** The Prisma model name (`MyStorage`), as query extensions report it. */
  readonly name: string;
  /** The single-column primary key (or unique column) used to update a row after `save`. */
  readonly primaryKey: string;
  readonly fields: ReadonlyMap<string, FileFieldDefinition>;

  constructor(key: string, name: string, primaryKey: string, fields: Map<string, FileFieldDefinition>) {
    this.key = key;
    this.name = name;
    this.primaryKey = primaryKey;
    this.fields = fields;
  }

  /** The configured columns that `data` writes (a Prisma create/update `data` object). */
  fieldsWritten(data: unknown): FileFieldDefinition[] {
    if (data === null || typeof data !== 'object') return [];
    const record = data as Record<string, unknown>;
    return [...this.fields.values()].filter((field) => record[field.property] !== undefined);
  }
}

interface FieldRefLike {
  readonly typeName?: string;
  readonly isList?: boolean;
}

interface DelegateLike {
  readonly name?: string;
  readonly fields?: Record<string, FieldRefLike | undefined>;
}

export class FileModels {
  private readonly byKey = new Map<string, FileModel>();
  private readonly byName = new Map<string, FileModel>();

  constructor(
    client: object,
    config: Record<string, Record<string, FileFieldOptions>>,
    primaryKeys: Record<string, string | undefined>,
    registry: StorageRegistry,
  ) {
    for (const [key, fieldOptions] of Object.entries(config)) {
      const delegate = (client as Record<string, DelegateLike | undefined>)[key];
      if (!delegate || typeof delegate !== 'object' || !delegate.fields || typeof delegate.name !== 'string') {
        const known = Object.keys(client).filter((name) => {
          const candidate = (client as Record<string, DelegateLike | undefined>)[name];
          return !name.startsWith('$') && !name.startsWith('_') && typeof candidate === 'object' && candidate !== null && typeof candidate.fields === 'object';
        });
        throw new ConfigurationError(
          `fileFields: '${key}' is not a model of this Prisma client (models: ${known.join(', ') || 'none'}). Use the client's model property name, e.g. 'myStorage' for model MyStorage.`,
        );
      }
      const columns = delegate.fields;
      const primaryKey = primaryKeys[key] ?? 'id';
      if (!columns[primaryKey]) {
        throw new ConfigurationError(
          `fileFields: model ${delegate.name} has no '${primaryKey}' column; name its single-column primary key with the primaryKeys option: { primaryKeys: { ${key}: '<column>' } }.`,
        );
      }
      const fields = new Map<string, FileFieldDefinition>();
      for (const [property, options] of Object.entries(fieldOptions)) {
        const column = columns[property];
        if (!column) {
          throw new ConfigurationError(`fileFields: model ${delegate.name} has no column '${property}' (columns: ${Object.keys(columns).join(', ')}).`);
        }
        if (column.typeName !== 'String' || column.isList) {
          throw new ConfigurationError(`fileFields: ${delegate.name}#${property} must be a String column to hold file names (it is ${column.typeName}${column.isList ? '[]' : ''}).`);
        }
        fields.set(property, new FileFieldDefinition(delegate.name, property, options, registry));
      }
      const model = new FileModel(key, delegate.name, primaryKey, fields);
      this.byKey.set(key, model);
      this.byName.set(model.name, model);
    }
  }

  get all(): FileModel[] {
    return [...this.byKey.values()];
  }

  /** By Prisma model name (`MyStorage`), as query extensions receive it. */
  named(name: string | undefined): FileModel | undefined {
    return name === undefined ? undefined : this.byName.get(name);
  }

  keyed(key: string): FileModel {
    const model = this.byKey.get(key);
    if (!model) throw new ConfigurationError(`fileFields: '${key}' has no configured file fields.`);
    return model;
  }

  /** Every configured column whose field stores its files in the storage `storageId`. */
  columnsUsing(storageId: string): Array<{ model: FileModel; field: FileFieldDefinition }> {
    const columns: Array<{ model: FileModel; field: FileFieldDefinition }> = [];
    for (const model of this.byKey.values()) {
      for (const field of model.fields.values()) if (field.storage.id === storageId) columns.push({ model, field });
    }
    return columns;
  }
}
