export { FileField, type FileFieldColumnOptions } from './file-field';
export { installFileFields, fileDeletionScheduler, type FileFieldsInstallation, type FileFieldsOptions } from './install';
export { bindEntityManager } from './managers';
export { reviveEntity } from './revive';
export { TypeOrmFieldFile } from './typeorm-field-file';
export { TypeOrmReferenceChecker } from './reference-checker';
export { FileNameTooLongError } from './errors';
