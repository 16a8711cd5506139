/**
 * Test kit: an in-process s3rver (a fake S3 over real HTTP) on a free port with a temporary
 * directory, and the storage options pointing at it.
 *
 *   const s3 = await startS3rver();
 *   const storage = new S3Storage(s3.storageOptions({ location: 'media' }));
 *   ...
 *   await s3.stop();
 *
 * s3rver accepts only the access key `S3RVER` (any SigV4 signature: it does not verify them)
 * and ignores If-None-Match, so storages on it use the HEAD-then-PUT fallback for unique names.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, randomSuffix } from '@filefield/core';
import type { S3StorageOptions } from '../options';

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly bucket: string;
  /** The directory s3rver stores objects in (removed by `stop`). */
  readonly directory: string;
  /** Options for `new S3Storage(...)` on this server; `overrides` are merged over them. */
  storageOptions(overrides?: Partial<S3StorageOptions>): S3StorageOptions;
  /** Stop the server and remove its directory. */
  stop(): Promise<void>;
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3rver(options: { bucket?: string; buckets?: string[] } = {}): Promise<S3rverHandle> {
  const S3rver = loadS3rver();
  const bucket = options.bucket ?? `filefield-${randomSuffix(8).toLowerCase()}`;
  const directory = await mkdtemp(join(tmpdir(), 'filefield-s3rver-'));
  const buckets = [bucket, ...(options.buckets ?? [])].map((name) => ({ name }));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: buckets });
  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  let stopped = false;
  return {
    endpoint,
    bucket,
    directory,
    storageOptions(overrides = {}) {
      return {
        bucket,
        endpointUrl: endpoint,
        region: 'us-east-1',
        ...S3RVER_CREDENTIALS,
        addressingStyle: 'path',
        ...overrides,
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** s3rver is an optional peer dependency: loaded on use, with a clear error when missing. */
function loadS3rver(): typeof import('s3rver') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('s3rver') as typeof import('s3rver');
  } catch (error) {
    throw new ConfigurationError('startS3rver needs the s3rver package: npm install --save-dev s3rver@^3.7.1', { cause: error });
  }
}
