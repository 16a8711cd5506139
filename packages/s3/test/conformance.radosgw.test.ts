import { describeStorage } from '@filefield/core/testing';
import { S3Storage } from '@filefield/s3';
import { describeWith, externalS3 } from '../../../test-support/services';
import { type S3Server, startExternalServer } from './support/servers';

// The external server (radosgw in CI, or MinIO/AWS by FILEFIELD_S3_*) with the driver's defaults:
// conditional writes probed (radosgw honours If-None-Match), two 5 MiB parts in flight. The large
// file is the suite's 128 MiB, checked against its 64 MiB limit of live memory (see
// conformance.s3rver.test.ts).
describeWith('radosgw', `S3Storage on ${externalS3()?.server ?? 'an external S3 server'}`, () => {
  let server: S3Server;
  beforeAll(async () => {
    server = await startExternalServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeStorage('S3Storage', (options) => new S3Storage(server.options(options)), {
    concurrentSaves: 50,
    maxNameBytes: 1024,
  });
});
