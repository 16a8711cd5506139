export { defineConfig, type CliLifecycle, type CliSweeperOptions, type FileFieldCliConfig } from './config';
export { ConfigFileError, UsageError } from './errors';
export { run } from './program';
