/**
 * One command's view of the app: the config's lifecycle opened, its storages listed by name
 * (the config's names, else the storage id), the CLI's own sweeper, and `close()` once at the end.
 */
import { ConfigurationError, type FileLedger, FileSweeper, fileReferences, type ReferenceSources, type Storage } from '@filefield/core';
import type { CliLifecycle, FileFieldCliConfig } from './config';
import { UsageError } from './errors';
import { findConfig, loadConfig } from './load-config';

export interface NamedStorage {
  /** The config's name for it, or its id. */
  name: string;
  storage: Storage;
}

export class Session {
  readonly ledger: FileLedger;
  readonly references: ReferenceSources;
  private readonly lifecycle: CliLifecycle;
  private readonly config: FileFieldCliConfig;
  private closed = false;

  private constructor(config: FileFieldCliConfig, lifecycle: CliLifecycle) {
    this.config = config;
    this.lifecycle = lifecycle;
    this.ledger = lifecycle.ledger;
    this.references = lifecycle.references ?? fileReferences;
  }

  static async open(config: FileFieldCliConfig): Promise<Session> {
    const lifecycle = await config.open();
    let checked: CliLifecycle;
    try {
      checked = checkLifecycle(lifecycle);
    } catch (error) {
      await (lifecycle as Partial<CliLifecycle> | undefined)?.close?.();
      throw error;
    }
    const session = new Session(config, checked);
    try {
      session.storages(); // Fail now, and close, when the installation has no storages to work on.
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /**
   * Every storage the app's file fields use, the named ones first. Only these: a storage no
   * reference source knows would have every one of its files look unreferenced.
   */
  storages(): NamedStorage[] {
    const byId = this.references.storagesById();
    if (byId.size === 0) {
      throw new ConfigurationError(
        "The config's open() installed no file fields (no reference source uses a storage): install filefield in it " +
          '(TypeORM: installFileFields(dataSource, { sweeper: false }); Prisma: $extends(fileFields(…, { sweeper: false }))), with the entities or models that have file fields. ' +
          'An installation given a `references` registry of its own registers there: return that registry from open() as `references`.',
      );
    }
    const named: NamedStorage[] = [];
    const seen = new Set<string>();
    for (const [name, storage] of Object.entries(this.lifecycle.storages ?? {})) {
      const known = byId.get(storage.id);
      if (!known) {
        throw new ConfigurationError(
          `The config names storage '${name}' (id ${storage.id}), which none of the app's file fields uses; the CLI only works on storages whose references it can check (known ids: ${[...byId.keys()].join(', ')}).`,
        );
      }
      named.push({ name, storage: known });
      seen.add(storage.id);
    }
    for (const [id, storage] of byId) if (!seen.has(id)) named.push({ name: id, storage });
    return named;
  }

  /** The storages `--storage` selects: one by name or id, or all of them. */
  select(name: string | undefined): NamedStorage[] {
    const all = this.storages();
    if (name === undefined) return all;
    const match = all.find((entry) => entry.name === name || entry.storage.id === name);
    if (!match) throw new UsageError(`--storage: no storage '${name}' (known: ${all.map((entry) => entry.name).join(', ')}).`);
    return [match];
  }

  /** A sweeper with the config's options, checking references through the app's sources. */
  sweeper(onError: (error: unknown) => void): FileSweeper {
    return new FileSweeper(this.ledger, { ...this.config.sweeper, sources: this.references, onError });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lifecycle.close?.();
  }
}

function checkLifecycle(lifecycle: unknown): CliLifecycle {
  const ledger = (lifecycle as { ledger?: { database?: { transaction?: unknown; autocommit?: unknown } } } | undefined)?.ledger;
  if (!ledger || typeof ledger.database?.transaction !== 'function' || !ledger.database.autocommit) {
    throw new ConfigurationError(
      "The config's open() must resolve to { ledger, close }, with the installation's FileLedger (installFileFields(dataSource).ledger, prisma.$fileFields().ledger).",
    );
  }
  return lifecycle as CliLifecycle;
}

/** The global options every command that needs the app gets. */
export interface SessionOptions {
  config?: string;
  verbose?: boolean;
  cwd: string;
}

/** Load the config, open the lifecycle, run `work`, and close it whatever happens. */
export async function withSession<T>(options: SessionOptions, work: (session: Session, configPath: string) => Promise<T>): Promise<T> {
  const path = findConfig(options.config, options.cwd);
  const session = await Session.open(await loadConfig(path));
  try {
    return await work(session, path);
  } finally {
    await session.close();
  }
}
