/**
 * A MemoryStorage that counts the primitive operations the storage performs, so tests can
 * assert on storage I/O (none when loading rows) and on deletions (exactly once).
 */
import type { Readable } from 'node:stream';
import { type ContentSource, MemoryStorage, type WriteOptions } from '@filefield/core';

export class CountingStorage extends MemoryStorage {
  readonly calls = { write: 0, read: 0, exists: 0, delete: 0, size: 0, url: 0 };
  /** Names whose deletion removed an existing file, in order. */
  readonly deletedExisting: string[] = [];
  /** Runs before each deletion of an existing file (e.g. to check the database at that moment). */
  beforeDelete: ((name: string) => Promise<void>) | undefined;

  get total(): number {
    return Object.values(this.calls).reduce((sum, count) => sum + count, 0);
  }

  protected override async writeObject(name: string, source: ContentSource, options: WriteOptions): Promise<void> {
    this.calls.write += 1;
    return super.writeObject(name, source, options);
  }
  protected override async readObject(name: string): Promise<Readable> {
    this.calls.read += 1;
    return super.readObject(name);
  }
  protected override async objectExists(name: string): Promise<boolean> {
    this.calls.exists += 1;
    return super.objectExists(name);
  }
  protected override async deleteObject(name: string): Promise<void> {
    this.calls.delete += 1;
    if (this.names().includes(name)) {
      await this.beforeDelete?.(name);
      this.deletedExisting.push(name);
    }
    return super.deleteObject(name);
  }
  protected override async objectSize(name: string): Promise<number> {
    this.calls.size += 1;
    return super.objectSize(name);
  }
  protected override async objectUrl(name: string): Promise<string> {
    this.calls.url += 1;
    return super.objectUrl(name);
  }
}
