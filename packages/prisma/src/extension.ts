/**
 * `fileFields(config)`: the Prisma Client extension. One `Prisma.defineExtension` with
 *  - result: each configured column is computed as a lazy `FieldFile` (no storage I/O on read);
 *  - model: `revive` and `fileField` on each configured model;
 *  - query: writes are checked, and reference and release their files in the ledger, in the
 *    write's own transaction (see file-writes.ts);
 *  - client: `$transaction` (so the extension knows when a transaction ends), `$fileFields()`
 *    (the ledger and the sweeper), `$disconnect` (stops the sweeper).
 * Applying it registers the client as a reference source and starts the in-process sweeper.
 */
import { ConfigurationError, FieldFile, FileLifecycle, storages } from '@filefield/core';
import { Prisma } from '@prisma/client/extension';
import { storedName } from './column-values';
import { PrismaFieldFileHost, type PrismaLifecycle } from './field-file-host';
import { TransactionTracker } from './file-transaction';
import { FileWrites, type QueryParams } from './file-writes';
import { PrismaLedgerDatabase, type TransactionClient } from './ledger-database';
import { type FileModel, FileModels } from './model-fields';
import { NestedWrites } from './nested-writes';
import { PrismaReferenceSource } from './reference-source';
import type { FileFieldsConfig, FileFieldsExtension, FileFieldsHandle, FileFieldsOptions, FileRow, KnownFieldOptions } from './types';

type ExtendableClient = TransactionClient & {
  $extends(extension: object): object;
  $transaction(this: unknown, arg: unknown, options?: unknown): Promise<unknown>;
  $disconnect(): Promise<void>;
};

/**
 * ```ts
 * const prisma = new PrismaClient({ adapter }).$extends(
 *   fileFields({ myStorage: { normal: { uploadTo: 'tests' }, default: { uploadTo: 'tests', default: 'tests/default.txt' } } }),
 * );
 * ```
 */
export function fileFields<const C extends FileFieldsConfig>(config: C & KnownFieldOptions<C>, options: FileFieldsOptions<C> = {}): FileFieldsExtension<C> {
  const extension = Prisma.defineExtension((base) => {
    const client = base as unknown as ExtendableClient;
    const models = new FileModels(client, config, (options.primaryKeys ?? {}) as Record<string, string | undefined>, options.registry ?? storages);
    const { gracePeriod, sweeper, references, clock } = options;
    const files = new FileLifecycle(new PrismaLedgerDatabase(client), new PrismaReferenceSource(client, models), { gracePeriod, sweeper, references, clock });
    const tracker = new TransactionTracker(files);
    const writes = new FileWrites(models, tracker, files, client, new NestedWrites(client, models));
    const lifecycle: PrismaLifecycle = { files, tracker, writes };
    let extended: object | undefined;
    /** The client `row.field.save()` updates through: the one `$extends` returned, or the app's (persistThrough). */
    let persisting: object | undefined;
    const handle: FileFieldsHandle = {
      ledger: files.ledger,
      sweeper: files.sweeper,
      sweep: (sweepOptions) => files.sweep(sweepOptions),
      idle: () => files.idle(),
      stop: () => files.stop(),
      persistThrough(target) {
        const built = typeof (target as { $fileFields?: unknown }).$fileFields === 'function' && (target as { $fileFields(): unknown }).$fileFields() === handle;
        if (!built) {
          throw new ConfigurationError('fileFields: persistThrough(client) needs a client built on this fileFields() extension (its $extends result, or a client extended from it).');
        }
        persisting = target;
        return target;
      },
    };

    const result: Record<string, Record<string, { needs: Record<string, true>; compute: (row: FileRow) => FieldFile<FileRow> }>> = {};
    const model: Record<string, object> = {};
    for (const fileModel of models.all) {
      const host = new PrismaFieldFileHost(fileModel, lifecycle, () => persisting ?? extended!);
      const fieldFile = (row: FileRow, property: string) =>
        new FieldFile<FileRow>(row, fileModel.fields.get(property)!, storedName(row[property]), host);
      result[fileModel.key] = {};
      for (const property of fileModel.fields.keys()) {
        result[fileModel.key][property] = {
          needs: { [property]: true, [fileModel.primaryKey]: true },
          compute: (row) => fieldFile(row, property),
        };
      }
      model[fileModel.key] = modelMethods(fileModel, fieldFile);
    }
    const disconnect = client.$disconnect;
    extended = client.$extends({
      name: '@filefield/prisma',
      result,
      model,
      query: { $allModels: { $allOperations: (params: QueryParams) => writes.handle(params) } },
      client: {
        $transaction: tracker.wrap(client.$transaction),
        $fileFields: () => handle,
        async $disconnect(this: unknown) {
          await handle.stop();
          return disconnect.call(this);
        },
      },
    });
    return extended as never;
  });
  return extension as unknown as FileFieldsExtension<C>;
}

function modelMethods(fileModel: FileModel, fieldFile: (row: FileRow, property: string) => FieldFile<FileRow>) {
  return {
    revive(row: FileRow): FileRow {
      const revived: FileRow = { ...row };
      for (const property of fileModel.fields.keys()) {
        if (property in row) revived[property] = fieldFile(revived, property);
      }
      return revived;
    },
    fileField(property: string) {
      const field = fileModel.fields.get(property);
      if (!field) throw new ConfigurationError(`fileFields: ${fileModel.name}#${property} is not a configured file field.`);
      return field;
    },
  };
}
