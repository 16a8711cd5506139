/**
 * maxPoolConnections (AWS_S3_MAX_POOL_CONNECTIONS) limits the connections to the S3 host; when
 * all are held and a request has to wait, the storage says so once, with a process warning
 * (code FILEFIELD_S3_POOL_EXHAUSTED) that tells what to do. On s3rver, with real readers.
 */
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { runInThisContext } from 'node:vm';

// Jest gives each test file a copy of `process`: listeners on it never hear the warnings Node
// emits on the real one, which is what an application's `process.on('warning')` sees.
const realProcess = runInThisContext('process') as NodeJS.Process;

/** The next process warning with `code`. */
function nextWarning(code: string): { warning: Promise<Error>; stop(): void } {
  let listener: ((warning: Error) => void) | undefined;
  const warning = new Promise<Error>((resolve) => {
    listener = (candidate: Error) => {
      if ((candidate as Error & { code?: string }).code === code) resolve(candidate);
    };
    realProcess.on('warning', listener);
  });
  return { warning, stop: () => realProcess.off('warning', listener!) };
}

let s3: S3rverHandle;
beforeAll(async () => {
  s3 = await startS3rver();
}, 60_000);
afterAll(async () => {
  await s3.stop();
});

it('warns when every pooled connection is held and a read waits, and the read completes once readers close', async () => {
  const storage = new S3Storage(s3.storageOptions({ location: 'pool', maxPoolConnections: 2 }));
  // Larger than what socket and stream buffers take in, so an unread body holds its connection.
  const content = Buffer.alloc(4 * 1024 * 1024, 7);
  await storage.save('big.bin', content);

  const exhausted = nextWarning('FILEFIELD_S3_POOL_EXHAUSTED');
  try {
    const held = [storage.open('big.bin'), storage.open('big.bin')];
    for (const file of held) expect((await file.read(1)).length).toBe(1);

    const third = storage.open('big.bin');
    let thirdDone = false;
    const thirdRead = third.read(1).finally(() => {
      thirdDone = true;
    });
    const warning = await exhausted.warning;
    expect(thirdDone).toBe(false);
    expect(warning.name).toBe('FileFieldWarning');
    expect(warning.message).toContain(`bucket '${s3.bucket}' at ${s3.endpoint}`);
    expect(warning.message).toMatch(/every pooled connection \(maxPoolConnections: 2\) is busy/);
    expect(warning.message).toMatch(/Close file readers/);
    expect(warning.message).toMatch(/maxPoolConnections \(AWS_S3_MAX_POOL_CONNECTIONS\)/);

    for (const file of held) await file.close();
    expect((await thirdRead).length).toBe(1);
    await third.close();
  } finally {
    exhausted.stop();
  }
  // The pool is usable again: the connections of closed readers were released.
  expect((await storage.open('big.bin').read()).equals(content)).toBe(true);
  storage.client.destroy();
}, 60_000);

it('warns once for several waiting requests, and other storages have their own pool', async () => {
  const storage = new S3Storage(s3.storageOptions({ location: 'pool', maxPoolConnections: 1 }));
  const other = new S3Storage(s3.storageOptions({ location: 'pool' }));
  await storage.save('big.bin', Buffer.alloc(4 * 1024 * 1024, 1));

  const seen: Error[] = [];
  const record = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === 'FILEFIELD_S3_POOL_EXHAUSTED') seen.push(warning);
  };
  realProcess.on('warning', record);
  const exhausted = nextWarning('FILEFIELD_S3_POOL_EXHAUSTED');
  try {
    const holder = storage.open('big.bin');
    await holder.read(1);
    const waiting = [storage.open('big.bin'), storage.open('big.bin'), storage.open('big.bin')];
    const reads = waiting.map((file) => file.read(1));
    await exhausted.warning;
    // Another storage on the same server is not held up by this one's pool.
    expect(await other.exists('big.bin')).toBe(true);
    await holder.close();
    for (const [index, read] of reads.entries()) {
      expect((await read).length).toBe(1);
      await waiting[index].close();
    }
    // One warning for the three requests that waited (each waited past the 1 s grace), not one each.
    // Warnings are emitted on the next tick: let any further one arrive before counting.
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(1);
  } finally {
    realProcess.off('warning', record);
    exhausted.stop();
  }
  storage.client.destroy();
  other.client.destroy();
}, 60_000);
