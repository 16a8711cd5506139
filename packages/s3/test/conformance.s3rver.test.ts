import { describeStorage } from '@filefield/core/testing';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describeStorage('S3Storage on s3rver', (options) => new S3Storage(s3.storageOptions({ location: 'media', ...options })), {
  largeFileBytes: 32 * 1024 * 1024,
  concurrentSaves: 50,
});
