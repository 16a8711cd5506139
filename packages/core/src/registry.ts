/**
 * Where fields find their storage: a default storage (Django's DEFAULT_FILE_STORAGE) and named
 * storages, each given as an instance or built lazily from a factory on first use.
 */
import { resolve } from 'node:path';
import { FileSystemStorage } from './drivers/filesystem/filesystem-storage';
import { ConfigurationError } from './errors';
import type { Storage } from './storage';

/** How a field names its storage: an instance, a registered name, or a factory. */
export type StorageRef = Storage | string | (() => Storage);

type Entry = { storage: Storage } | { factory: () => Storage };

export const DEFAULT_STORAGE = 'default';

export class StorageRegistry {
  private readonly entries = new Map<string, Entry>();

  /** Register (or replace) a named storage; a factory runs once, on first use. */
  register(name: string, storage: Storage | (() => Storage)): this {
    this.entries.set(name, typeof storage === 'function' ? { factory: storage } : { storage });
    return this;
  }

  /** Set the storage used by fields that name none. */
  setDefault(storage: Storage | (() => Storage)): this {
    return this.register(DEFAULT_STORAGE, storage);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * Resolve a reference. Without one, the default storage: the registered 'default', else a
   * FileSystemStorage in `$FILEFIELD_MEDIA_ROOT` (or `./media`), like Django's MEDIA_ROOT.
   */
  get(ref?: StorageRef): Storage {
    if (ref === undefined) return this.named(DEFAULT_STORAGE);
    if (typeof ref === 'string') return this.named(ref);
    if (typeof ref === 'function') return ref();
    return ref;
  }

  /** Forget every registration (for tests). */
  clear(): void {
    this.entries.clear();
  }

  private named(name: string): Storage {
    let entry = this.entries.get(name);
    if (!entry && name === DEFAULT_STORAGE) {
      entry = { factory: () => new FileSystemStorage({ location: resolve(process.env.FILEFIELD_MEDIA_ROOT ?? 'media') }) };
    }
    if (!entry) {
      const known = [...this.entries.keys()].map((key) => `'${key}'`).join(', ') || 'none';
      throw new ConfigurationError(`Could not find a storage named '${name}' (registered: ${known}). Register it with storages.register('${name}', …).`);
    }
    if ('factory' in entry) {
      const storage = entry.factory();
      this.entries.set(name, { storage });
      return storage;
    }
    return entry.storage;
  }
}

const SHARED_REGISTRY = Symbol.for('@filefield/core/storages');

interface SharedRegistry {
  readonly version: string;
  readonly location: string;
  readonly registry: StorageRegistry;
}

/** Versions that can share one registry and one set of brands: same major (same minor below 1.0). */
function compatibleLine(version: string): string {
  const [major, minor] = version.split('.');
  return major === '0' ? `0.${minor}` : major;
}

/**
 * The registry every loaded copy of @filefield/core shares: the first copy creates it on
 * globalThis, later copies of a compatible version use it, so `storages.setDefault()` made through
 * one copy holds for fields of another. A copy of an incompatible version refuses to load.
 */
function sharedRegistry(): StorageRegistry {
  const version: string = require('../package.json').version;
  const location = typeof __dirname === 'string' ? __dirname : 'unknown location';
  const global = globalThis as { [SHARED_REGISTRY]?: SharedRegistry };
  const existing = global[SHARED_REGISTRY];
  if (existing === undefined) {
    const registry = new StorageRegistry();
    Object.defineProperty(global, SHARED_REGISTRY, { value: { version, location, registry } satisfies SharedRegistry, configurable: true });
    return registry;
  }
  if (compatibleLine(existing.version) !== compatibleLine(version)) {
    throw new ConfigurationError(
      `Two incompatible copies of @filefield/core are loaded: ${existing.version} (${existing.location}) and ${version} (${location}). ` +
        'They cannot share storages or recognise each other\'s files. Make every @filefield package use one core version: ' +
        '`npm ls @filefield/core` shows which packages pull in each copy.',
    );
  }
  return existing.registry;
}

/** The process-wide registry fields use unless given their own (shared by every loaded copy of the core). */
export const storages = sharedRegistry();
