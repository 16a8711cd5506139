/**
 * The extension's public types. `fileFields(config)` is checked against the client it is
 * applied to: every configured model must be a model property of the client and every field a
 * `String` column of it, or `$extends` does not compile. Results then type those columns as
 * `FieldFile`.
 */
import type { FieldFile, FileFieldDefinition, FileFieldOptions, FileLedger, FileLifecycleOptions, FileSweeper, StorageRegistry, SweepReport } from '@filefield/core';
import type { Types } from '@prisma/client/runtime/client';

/** The row a FieldFile of a Prisma result is bound to (its columns as selected, plus the primary key). */
export type FileRow = Record<string, unknown>;

/** Per model (the client property: `myStorage` for model MyStorage), per String column: its field options. */
export type FileFieldsConfig = Record<string, Record<string, FileFieldOptions<FileRow>>>;

/** The core's lifecycle options (`gracePeriod`, `sweeper`, `references`, `clock`), and: */
export interface FileFieldsOptions<C extends FileFieldsConfig = FileFieldsConfig> extends FileLifecycleOptions {
  /** A model's single-column primary key (or other unique column) when it is not `id`. */
  primaryKeys?: { [M in keyof C]?: string };
  /** Where fields look up named storages and the default storage (the core's `storages` otherwise). */
  registry?: StorageRegistry;
}

/**
 * Refuses option names a field does not have (a generic parameter escapes TypeScript's
 * excess-property check, so `{ maxLenght: 10 }` would otherwise pass).
 */
export type KnownFieldOptions<C extends FileFieldsConfig> = {
  [M in keyof C]: { [F in keyof C[M]]: { [K in Exclude<keyof C[M][F], keyof FileFieldOptions>]: never } };
};

/** What a configured column of a client must look like: a scalar `String` column. */
interface StringColumnRef {
  readonly typeName: 'String';
}

/** The client shape `fileFields(config)` requires: the models and their String columns. */
export type ClientWithFileColumns<C extends FileFieldsConfig> = {
  [M in keyof C]: { readonly fields: { readonly [F in keyof C[M]]: StringColumnRef } };
};

/** `row` with its configured columns as FieldFiles (what `revive` returns). */
export type WithFieldFiles<T, F extends PropertyKey> = Omit<T, F> & { [K in F]: FieldFile<FileRow> };

/** The file lifecycle of one extended client: `prisma.$fileFields()`. */
export interface FileFieldsHandle {
  readonly ledger: FileLedger;
  /** The in-process sweeper (undefined with `sweeper: false`). */
  readonly sweeper: FileSweeper | undefined;
  /** Run the sweeper now until nothing is due (`now` overrides the clock). Works with `sweeper: false` too. */
  sweep(options?: { now?: number }): Promise<SweepReport>;
  /** Resolves once no background sweep is running or about to run. */
  idle(): Promise<void>;
  /** Stop the background sweeper and unregister the reference source (`$disconnect()` does it too). */
  stop(): Promise<void>;
  /**
   * Make `row.field.save()` and `row.field.delete()` (outside a `$transaction`) update their row
   * through `client`: the client the app uses when extensions are applied after `fileFields()`, so
   * that their query hooks (a tenant filter, an audit log) see those updates too. `client` must be
   * built on this extension's client. Returns `client`.
   */
  persistThrough<T extends object>(client: T): T;
}

/** Methods added to each configured model delegate (`prisma.myStorage.revive(...)`). */
export interface FileModelMethods<F extends string> {
  /**
   * Rebuild FieldFiles from a plain row, e.g. one parsed from `JSON.stringify(result)` (which
   * stores each file as its name). The row must carry the primary key for `save()` to work.
   */
  revive<T extends Record<string, unknown>>(row: T): WithFieldFiles<T, F & keyof T>;
  /** The field definition of a configured column: its storage, uploadTo, default, maxLength. */
  fileField(property: F): FileFieldDefinition<FileRow>;
}

/** Prisma reads a computed field's type off its `compute` function. */
type ComputedFieldFile = { needs: Record<string, true>; compute: (row: FileRow) => FieldFile<FileRow> };
type ResultArgs<C extends FileFieldsConfig> = { [M in keyof C]: { [F in keyof C[M]]: ComputedFieldFile } };
type ModelArgs<C extends FileFieldsConfig> = { [M in keyof C]: FileModelMethods<keyof C[M] & string> };

type ClientArgs = { $fileFields: () => FileFieldsHandle };

/** The extension arguments Prisma merges into the client's type. */
export type FileFieldsExtArgs<C extends FileFieldsConfig> = Types.Extensions.InternalArgs<ResultArgs<C>, ModelArgs<C>, {}, ClientArgs>;

/** What `fileFields(config)` returns: pass it to `$extends`. */
export type FileFieldsExtension<C extends FileFieldsConfig> = (client: ClientWithFileColumns<C>) => {
  $extends: { extArgs: FileFieldsExtArgs<C> };
};
