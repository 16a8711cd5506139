export { ContentFile, LocalFile, type Content, type ContentSource, toContentSource, contentName, knownSize } from './content';
export { FileSystemStorage, type FileSystemStorageOptions } from './drivers/filesystem/filesystem-storage';
export { MemoryStorage, type MemoryStorageOptions } from './drivers/memory/memory-storage';
export {
  ConfigurationError,
  FileDeletedError,
  FileExistsError,
  FileFieldError,
  FileModeError,
  FileNameTooLongError,
  FileNotFoundError,
  LedgerError,
  NoFileError,
  OperationAbortedError,
  PermissionDeniedError,
  StorageTimeoutError,
  StorageUnavailableError,
  SuspiciousFileOperation,
} from './errors';
export { FileFieldDefinition, type FileFieldOptions, type UploadTo } from './field';
export { FieldFile, type FieldFileHost, type FieldFileSaveOptions } from './field-file';
export { alternativeName, getValidFileName, joinName, randomSuffix, splitName, validateFileName } from './names';
export { DEFAULT_STORAGE, StorageRegistry, storages, type StorageRef } from './registry';
export * from './lifecycle';
export { Storage, type ByteRange, type CallOptions, type ReadOptions, type DeleteManyResult, type DirectoryListing, type NameClaim, type NameLimits, type SaveOptions, type StorageOptions, type WriteOptions } from './storage';
export type { UploadTarget, UploadTargetOptions } from './upload-target';
export { StorageFile, type ChunksOptions, type OpenMode } from './storage-file';
