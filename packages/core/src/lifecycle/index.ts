export { fileKey } from './file-key';
export { FileLifecycle, type FileLifecycleOptions } from './file-lifecycle';
export { DEFAULT_GRACE_PERIOD, FileLedger, type FileLedgerOptions, type LedgerFile, type ReleaseReason } from './file-ledger';
export { FILES_TABLE, TASKS_TABLE, createLedgerTables, ledgerSchema } from './ledger-schema';
export { scanOrphans, type OrphanScanOptions, type OrphanScanReport } from './orphan-scan';
export { REFERENCE_BATCH_SIZE, ReferenceSources, fileReferences, type ReferenceSource } from './reference-sources';
export type { LedgerDatabase, SqlDialect, SqlRow, SqlSession } from './sql';
export { FileSweeper, type FileSweeperOptions, type SweepReport } from './sweeper';
