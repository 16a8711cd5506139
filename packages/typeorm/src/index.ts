export { assignFile, type FileFieldKeys } from './assign-file';
export { FileField, type FileFieldColumnOptions } from './file-field';
export { installFileFields, type FileFieldsInstallation, type FileFieldsOptions } from './install';
export {
  FileFieldFileRecord,
  FileFieldLedger1764547200000,
  FileFieldTaskRecord,
  createFileFieldLedger,
  fileFieldLedgerEntities,
} from './ledger-schema';
export { bindEntityManager } from './managers';
export { reviveEntity } from './revive';
export { TypeOrmFieldFile } from './typeorm-field-file';
