/**
 * Test kit: s3rver (a fake S3 over real HTTP) on a free port of 127.0.0.1 with a temporary
 * directory, and the storage options pointing at it.
 *
 *   const s3 = await startS3rver();
 *   const storage = new S3Storage(s3.storageOptions({ location: 'media' }));
 *   ...
 *   await s3.stop();
 *
 * The server runs in a worker thread of this process: its own event loop and heap, so the
 * server's work neither stalls the code under test nor counts in its memory measurements.
 * s3rver accepts only the access key `S3RVER` (with any SigV4 signature: it does not verify
 * them, but it does verify SigV2 ones) and ignores If-None-Match, so storages on it use the
 * HEAD-then-PUT fallback for unique names.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
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

export interface StartS3rverOptions {
  /** The bucket to create (default: a random `filefield-…` name). */
  bucket?: string;
  /** More buckets to create. */
  buckets?: string[];
  /** s3rver bucket configuration documents for the main bucket (a CORS configuration's XML, for browser uploads). */
  configs?: string[];
}

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

// Plain JavaScript: the worker runs it with `eval`, so it needs no build step (ts-jest runs src/).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const S3rver = require(workerData.s3rverPath);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: workerData.directory,
  silent: true,
  configureBuckets: workerData.buckets.map((name, index) => ({ name, configs: index === 0 ? workerData.configs : [] })),
});
server.run().then(
  (address) => parentPort.postMessage({ type: 'started', port: address.port }),
  (error) => parentPort.postMessage({ type: 'failed', message: String(error && error.stack || error) }),
);
parentPort.on('message', (message) => {
  if (message === 'stop') server.close().finally(() => parentPort.postMessage({ type: 'stopped' }));
});
`;

type WorkerMessage = { type: 'started'; port: number } | { type: 'failed'; message: string } | { type: 'stopped' };

export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverHandle> {
  const s3rverPath = resolveS3rver();
  const bucket = options.bucket ?? `filefield-${randomSuffix(8).toLowerCase()}`;
  const directory = await mkdtemp(join(tmpdir(), 'filefield-s3rver-'));
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { s3rverPath, directory, buckets: [bucket, ...(options.buckets ?? [])], configs: options.configs ?? [] },
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`s3rver worker exited with code ${code} before it started`)));
      worker.once('message', (message: WorkerMessage) => {
        if (message.type === 'started') resolve(message.port);
        else reject(new Error(`s3rver did not start: ${message.type === 'failed' ? message.message : message.type}`));
      });
    });
  } catch (error) {
    await worker.terminate();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  worker.removeAllListeners();
  // The worker must not keep the process alive on its own (e.g. a test run that forgot stop()).
  worker.unref();
  const endpoint = `http://127.0.0.1:${port}`;
  // A run that never calls stop() (a crash, a forgotten afterAll) still leaves no directory behind.
  const removeOnExit = () => rmSync(directory, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  let stopping: Promise<void> | undefined;
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
    stop() {
      stopping ??= (async () => {
        // Unref'd, the worker would let a plain script exit before the stop finished (and its
        // directory was removed): a caller that awaits stop() keeps the process until it is done.
        worker.ref();
        const stopped = new Promise<void>((resolve) => {
          worker.on('message', (message: WorkerMessage) => message.type === 'stopped' && resolve());
          worker.once('exit', () => resolve());
        });
        worker.postMessage('stop');
        // Bounded: open keep-alive connections must not hold the test run.
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([stopped, new Promise((resolve) => (bound = setTimeout(resolve, 2000)))]);
        clearTimeout(bound);
        await worker.terminate();
        await rm(directory, { recursive: true, force: true });
        process.removeListener('exit', removeOnExit);
      })();
      return stopping;
    },
  };
}

/** s3rver is an optional peer dependency: resolved on use, with a clear error when missing. */
function resolveS3rver(): string {
  try {
    return require.resolve('s3rver');
  } catch (error) {
    throw new ConfigurationError('startS3rver needs the s3rver package: npm install --save-dev s3rver@^3.7.1', { cause: error });
  }
}

export { recordRequests, type LoggedRequest, type RequestLog } from './request-log';
export {
  S3FaultProxy,
  type InjectedFault,
  type ProxiedRequest,
  type S3Fault,
  type S3FaultProxyOptions,
  type S3FaultRule,
  type S3RequestMatcher,
} from './fault-proxy';
