import { Readable } from 'node:stream';
import { describeStorage } from '@filefield/core/testing';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
  // One multipart round trip first, so that the suite's memory meter measures streaming and not
  // the SDK's one-time costs (loading and compiling the multipart commands on first use).
  const warmup = new S3Storage(s3.storageOptions());
  await warmup.save('warmup.bin', Readable.from([Buffer.alloc(6 * 1024 * 1024)]));
  for await (const chunk of warmup.open('warmup.bin').chunks()) void chunk;
  await warmup.delete('warmup.bin');
});
afterAll(async () => {
  await s3?.stop();
});

// The suite's large file (128 MiB, twice its limit) must stream with less than 64 MiB of live
// memory growth, measured after forced collections: uncollected garbage does not count, so the
// check holds on a loaded machine. A streamed multipart upload holds concurrency + 1 parts (5 × 8 MiB by default);
// s3rver's own memory is in its worker thread and not counted. bench/s3/memory.ts measures the RSS.
describeStorage('S3Storage on s3rver', (options) => new S3Storage(s3.storageOptions({ location: 'media', ...options })), {
  concurrentSaves: 50,
  maxNameBytes: 1024,
});
