/**
 * The bridge between TypeORM's metadata and file fields: the column transformer that marks a
 * column as a file column (and turns a FieldFile into the name TypeORM persists), and the
 * per-entity list of file columns the subscriber and the reference checker work with.
 */
import { FieldFile, type FileFieldDefinition } from '@filefield/core';
import type { EntityMetadata, ValueTransformer } from 'typeorm';
import type { FileProperty } from './entity-state';

type ColumnMetadata = EntityMetadata['columns'][number];

/** Persists a file field's name. Loading passes the column's value through untouched (no I/O, no allocation). */
export class FileNameTransformer implements ValueTransformer {
  constructor(readonly property: FileProperty) {}

  to(value: unknown): unknown {
    if (value instanceof FieldFile) return value.name;
    if (value === '') return null;
    return value;
  }

  from(value: unknown): unknown {
    return value;
  }
}

export interface FileColumn {
  readonly column: ColumnMetadata;
  readonly field: FileFieldDefinition;
  /** Where entities keep the value (see entity-state.ts). */
  readonly slot: symbol;
}

const columnsByMetadata = new WeakMap<EntityMetadata, readonly FileColumn[]>();

/** The file columns of an entity (empty for entities without any). */
export function fileColumnsOf(metadata: EntityMetadata): readonly FileColumn[] {
  let columns = columnsByMetadata.get(metadata);
  if (!columns) {
    columns = metadata.columns
      .filter((column) => column.transformer instanceof FileNameTransformer)
      .map((column) => {
        const { field, slot } = (column.transformer as FileNameTransformer).property;
        return { column, field, slot };
      });
    columnsByMetadata.set(metadata, columns);
  }
  return columns;
}

/** The name held by a file column's value: a FieldFile, a name (plain objects, QueryBuilder values) or nothing. */
export function nameOf(value: unknown): string | null | undefined {
  if (value instanceof FieldFile) return value.name;
  if (typeof value === 'string') return value === '' ? null : value;
  if (value === null) return null;
  return undefined;
}
