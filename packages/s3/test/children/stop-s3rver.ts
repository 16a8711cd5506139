// A plain script (no test runner keeping the process alive): start s3rver, stop it, report.
import { existsSync } from 'node:fs';
import { startS3rver } from '@filefield/s3/testing';

void (async () => {
  const s3 = await startS3rver();
  await s3.stop();
  console.log(`STOPPED ${existsSync(s3.directory) ? 'directory-left' : 'clean'}`);
})();
