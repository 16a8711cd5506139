export { fileFields } from './extension';
export { FileColumnValueError, RowNotFoundError } from './errors';
export { REFERENCE_CHUNK_SIZE } from './reference-checker';
export type {
  ClientWithFileColumns,
  FileFieldsConfig,
  FileFieldsExtArgs,
  FileFieldsExtension,
  FileFieldsOptions,
  FileModelMethods,
  FileRow,
  KnownFieldOptions,
  WithFieldFiles,
} from './types';
