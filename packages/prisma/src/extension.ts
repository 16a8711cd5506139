/**
 * `fileFields(config)`: the Prisma Client extension. One `Prisma.defineExtension` with
 *  - result: each configured column is computed as a lazy `FieldFile` (no storage I/O on read);
 *  - model: `revive` and `fileField` on each configured model;
 *  - query: writes are checked, and deletes/replacements feed the core's deletion policy;
 *  - client: `$transaction`, so file deletions wait for the commit (see file-transaction.ts).
 */
import { ConfigurationError, FieldFile, FileDeletionScheduler, storages } from '@filefield/core';
import { Prisma } from '@prisma/client/extension';
import { storedName } from './column-values';
import { PrismaFieldFileHost } from './field-file-host';
import { TransactionTracker } from './file-transaction';
import { FileWrites, type QueryParams } from './file-writes';
import { type FileModel, FileModels } from './model-fields';
import { PrismaReferenceChecker } from './reference-checker';
import type { FileFieldsConfig, FileFieldsExtension, FileFieldsOptions, FileRow, KnownFieldOptions } from './types';

type ExtendableClient = {
  $extends(extension: object): object;
  $transaction(this: unknown, arg: unknown, options?: unknown): Promise<unknown>;
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
    const scheduler = options.scheduler ?? new FileDeletionScheduler({ onError: options.onDeletionError });
    const checker = new PrismaReferenceChecker(client, models);
    const tracker = new TransactionTracker(scheduler, checker);
    const writes = new FileWrites(models, tracker, scheduler, checker, client);
    let extended: object | undefined;
    const result: Record<string, Record<string, { needs: Record<string, true>; compute: (row: FileRow) => FieldFile<FileRow> }>> = {};
    const model: Record<string, object> = {};
    for (const fileModel of models.all) {
      const host = new PrismaFieldFileHost(fileModel, tracker, scheduler, checker, () => extended!);
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
    extended = client.$extends({
      name: '@filefield/prisma',
      result,
      model,
      query: { $allModels: { $allOperations: (params: QueryParams) => writes.handle(params) } },
      client: { $transaction: tracker.wrap(client.$transaction) },
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
