/**
 * Unique names (fileOverwrite off) by both paths: conditional writes (`If-None-Match: *`, one
 * request per candidate; radosgw) and the HEAD-then-PUT fallback (s3rver, which ignores the
 * header, and any server with `conditionalWrites: false`). No path may lose a file.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { FileExistsError } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { describeOnServers } from './support/servers';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const MiB = 1024 * 1024;

async function readAll(storage: S3Storage, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of storage.open(name).chunks()) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describeOnServers('S3Storage unique names', (server) => {
  const unique = (location: string, extra: object = {}) => new S3Storage(server().options({ location, fileOverwrite: false, ...extra }));

  it('detects whether the server honours If-None-Match (a probe that leaves nothing behind)', async () => {
    const storage = unique('probe');
    const log = recordRequests(storage.client);
    expect(await storage.conditionalWritesSupported()).toBe(server().honoursConditionalWrites);
    expect(log.requests.map((request) => request.method)).toEqual(['PUT', 'PUT', 'DELETE']);
    expect(log.requests[1].headers['if-none-match']).toBe('*');
    // Once per storage.
    await storage.conditionalWritesSupported();
    expect(log.count).toBe(3);
    expect(await storage.listdir('')).toEqual({ directories: [], files: [] });
    // An explicit setting skips the probe.
    const declared = unique('probe', { conditionalWrites: false });
    const declaredLog = recordRequests(declared.client);
    expect(await declared.conditionalWritesSupported()).toBe(false);
    expect(declaredLog.count).toBe(0);
  });

  const paths = () => (server().honoursConditionalWrites ? [true, false] : [false]);

  it('picks a new name for a taken one: one conditional PUT per candidate, or HEAD per candidate then PUT', async () => {
    for (const conditional of paths()) {
      const storage = unique(`taken-${conditional}`, { conditionalWrites: conditional });
      expect(await storage.save('report.pdf', 'first')).toBe('report.pdf');
      const log = recordRequests(storage.client);
      const second = await storage.save('report.pdf', 'second');
      expect(second).toMatch(/^report_[A-Za-z0-9]{7}\.pdf$/);
      const methods = log.requests.map((request) => `${request.method}${request.headers['if-none-match'] ? ' if-none-match' : ''}`);
      expect(methods).toEqual(conditional ? ['PUT if-none-match', 'PUT if-none-match'] : ['HEAD', 'HEAD', 'PUT']);
      log.restore();
      expect((await storage.open('report.pdf').read()).toString()).toBe('first');
      expect((await storage.open(second).read()).toString()).toBe('second');
    }
  });

  it('keeps all of 50 concurrent saves of one name, each with its own contents', async () => {
    for (const conditional of paths()) {
      // Two storage objects, as two request handlers would have: the fallback's lock is per process.
      const storages = [unique(`race-${conditional}`, { conditionalWrites: conditional }), unique(`race-${conditional}`, { conditionalWrites: conditional })];
      const names = await Promise.all(
        Array.from({ length: 50 }, (_, i) => storages[i % 2].save('avatar.png', Buffer.from(`writer ${i}`))),
      );
      expect(new Set(names).size).toBe(50);
      expect(names).toContain('avatar.png');
      const contents = await Promise.all(names.map(async (name) => (await storages[0].open(name).read()).toString()));
      expect(contents.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `writer ${i}`).sort());
      expect((await storages[0].listdir('')).files).toHaveLength(50);
    }
  });

  it('never lets a multipart upload replace a taken name, even racing another one', async () => {
    for (const conditional of paths()) {
      const storage = unique(`multipart-${conditional}`, { conditionalWrites: conditional, multipartThreshold: 5 * MiB });
      const bodies = [Buffer.alloc(6 * MiB, 1), Buffer.alloc(6 * MiB, 2), Buffer.alloc(6 * MiB, 3)];
      const names = await Promise.all(bodies.map((body) => storage.save('video.mp4', body)));
      expect(new Set(names).size).toBe(3);
      for (const [i, name] of names.entries()) {
        expect(await storage.size(name)).toBe(6 * MiB);
        const stored = await readAll(storage, name);
        expect(sha(stored)).toBe(sha(bodies[i]));
      }
    }
  });

  it('fails a one-shot stream whose free name is taken meanwhile, and keeps the other file', async () => {
    for (const conditional of paths()) {
      const storage = unique(`stream-${conditional}`, { conditionalWrites: conditional });
      // The name was free when looked up; another writer takes it before this upload starts.
      const available = storage.getAvailableName.bind(storage);
      storage.getAvailableName = async (name, maxLength) => {
        const free = await available(name, maxLength);
        await unique(`stream-${conditional}`, { conditionalWrites: conditional }).save(free, 'the other writer');
        return free;
      };
      const error = await storage.save('clip.txt', Readable.from([Buffer.from('mine')])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FileExistsError);
      expect((await storage.open('clip.txt').read()).toString()).toBe('the other writer');
    }
  });

  it('removes its claim when an exclusive multipart upload fails', async () => {
    if (!server().honoursConditionalWrites) return; // the claim exists on the conditional path only
    const storage = unique('claim-cleanup', { multipartThreshold: 5 * MiB });
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(6 * MiB, 7));
        this.destroy(new Error('the client went away'));
      },
    });
    await expect(storage.save('upload.bin', failing)).rejects.toThrow('the client went away');
    expect(await storage.exists('upload.bin')).toBe(false);
    expect(await storage.save('upload.bin', 'retry')).toBe('upload.bin');
  });
});
