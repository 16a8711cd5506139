/**
 * The storages the suites run against: the filesystem driver (a fresh temporary directory per
 * test) and the S3 driver on an in-process s3rver over HTTP (a fresh key prefix per test).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage, randomSuffix, type Storage } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';

export type StorageKind = 'filesystem' | 's3';
export const STORAGE_KINDS: StorageKind[] = ['filesystem', 's3'];

export interface StorageKit {
  /** A new, empty storage. */
  create(): Promise<Storage>;
  /** Remove what `create` made and stop any server. */
  stop(): Promise<void>;
}

export async function startStorageKit(kind: StorageKind): Promise<StorageKit> {
  if (kind === 'filesystem') {
    const dirs: string[] = [];
    return {
      async create() {
        const location = await mkdtemp(join(tmpdir(), 'filefield-prisma-media-'));
        dirs.push(location);
        return new FileSystemStorage({ location });
      },
      async stop() {
        await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
      },
    };
  }
  const server: S3rverHandle = await startS3rver();
  return {
    async create() {
      return new S3Storage(server.storageOptions({ location: `t-${randomSuffix(8)}`, fileOverwrite: false }));
    },
    stop: () => server.stop(),
  };
}
