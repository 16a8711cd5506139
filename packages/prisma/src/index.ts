export { fileFields } from './extension';
export { FileColumnValueError, RowNotFoundError } from './errors';
export type {
  ClientWithFileColumns,
  FileFieldsConfig,
  FileFieldsExtArgs,
  FileFieldsExtension,
  FileFieldsHandle,
  FileFieldsOptions,
  FileModelMethods,
  FileRow,
  KnownFieldOptions,
  WithFieldFiles,
} from './types';
