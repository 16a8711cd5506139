/**
 * Finding and loading the config file, as TypeORM's and Prisma's CLIs do: `--config <file>`, or
 * the first `filefield.config.{ts,mts,cts,js,mjs,cjs}` in the working directory. TypeScript and
 * ESM configs are loaded through jiti, which resolves packages from the config's own directory
 * (the app's @filefield/typeorm or @filefield/prisma); TypeScript files are compiled by the app's
 * TypeScript (typescript-transform.ts), so a config may import TypeORM entities from source.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createJiti } from 'jiti';
import type { FileFieldCliConfig } from './config';
import { ConfigFileError } from './errors';
import { typescriptTransform } from './typescript-transform';

export const CONFIG_NAMES = ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((extension) => `filefield.config.${extension}`);

const KNOWN_KEYS = new Set(['open', 'sweeper']);
/** FileSweeper's options but the two the CLI sets itself (sources, onError): a misspelt one would be ignored. */
const SWEEPER_KEYS = new Set(['batchSize', 'leaseDuration', 'deleteTimeout', 'tombstoneRetention', 'retry', 'concurrency', 'lockTimeout']);

/** The config file to load: the one given, else the first of CONFIG_NAMES in `cwd`. */
export function findConfig(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    const path = isAbsolute(given) ? given : resolve(cwd, given);
    if (!existsSync(path) || !statSync(path).isFile()) throw new ConfigFileError(`--config: no file at ${path}.`);
    return path;
  }
  const found = CONFIG_NAMES.map((name) => join(cwd, name)).find((path) => existsSync(path));
  if (!found) {
    throw new ConfigFileError(
      `No filefield config in ${cwd}: create filefield.config.ts (export default defineConfig({ open() { … } }) from @filefield/cli) or pass --config <file>.`,
    );
  }
  return found;
}

export async function loadConfig(path: string): Promise<FileFieldCliConfig> {
  const plain = createJiti(path, { interopDefault: false, fsCache: false });
  const transform = typescriptTransform(path, (options) => plain.transform(options));
  const jiti = transform ? createJiti(path, { interopDefault: false, fsCache: false, transform }) : plain;
  let loaded: Record<string, unknown>;
  try {
    loaded = (await jiti.import(path)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error);
    throw new ConfigFileError(`The config file ${path} could not be loaded (${reason}).`, { cause: error });
  }
  return checkConfig(pickExport(loaded), path);
}

/** The default export, else an export named `config` (a CommonJS `module.exports = {…}` is the default). */
function pickExport(loaded: Record<string, unknown>): unknown {
  if (loaded && typeof loaded === 'object') {
    const fallback = loaded.default ?? loaded.config;
    if (fallback !== undefined) return fallback;
    if ('open' in loaded) return loaded;
  }
  return undefined;
}

function checkConfig(config: unknown, path: string): FileFieldCliConfig {
  if (!config || typeof config !== 'object') {
    throw new ConfigFileError(`The config file ${path} exports no config: default-export defineConfig({ open() { … } }) (or export it as \`config\`).`);
  }
  const unknown = Object.keys(config).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) throw new ConfigFileError(`The config in ${path} has unknown key(s) ${unknown.map((key) => `'${key}'`).join(', ')} (known: ${[...KNOWN_KEYS].join(', ')}).`);
  const { open, sweeper } = config as Record<string, unknown>;
  if (typeof open !== 'function') throw new ConfigFileError(`The config in ${path} needs open(): a function that returns { ledger, close } (see @filefield/cli's README).`);
  if (sweeper !== undefined && (typeof sweeper !== 'object' || sweeper === null)) throw new ConfigFileError(`The config in ${path}: 'sweeper' must be an object of sweeper options.`);
  const unknownSweeper = Object.keys(sweeper ?? {}).filter((key) => !SWEEPER_KEYS.has(key));
  if (unknownSweeper.length > 0) {
    throw new ConfigFileError(`The config in ${path}: unknown sweeper option(s) ${unknownSweeper.map((key) => `'${key}'`).join(', ')} (known: ${[...SWEEPER_KEYS].join(', ')}).`);
  }
  return config as FileFieldCliConfig;
}
