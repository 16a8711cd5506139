/**
 * What `@filefield/web` needs of the core: ranged reads (native on the filesystem, the fallback
 * on memory), `getAvailableName` with a claim (direct uploads reserve names they do not write),
 * and a failed `FieldFile.save` handing the names it claimed to the adapter's `abandon`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FieldFile, type FieldFileHost, FileFieldDefinition, FileSystemStorage, MemoryStorage, type NameClaim, type Storage, StorageRegistry } from '@filefield/core';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString('latin1');
  return out;
}

describe.each([
  ['memory (fallback)', async () => ({ storage: new MemoryStorage() as Storage, done: async () => undefined })],
  [
    'filesystem (native)',
    async () => {
      const location = await mkdtemp(join(tmpdir(), 'filefield-ranges-'));
      return { storage: new FileSystemStorage({ location }) as Storage, done: () => rm(location, { recursive: true, force: true }) };
    },
  ],
])('createReadStream with a range on %s', (_, make) => {
  it('gives exactly the bytes asked for, fewer at the end, none past it', async () => {
    const { storage, done } = await make();
    try {
      await storage.save('a.txt', 'abcdefghij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 2, end: 4 } }))).toBe('cde');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 7 } }))).toBe('hij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 8, end: 100 } }))).toBe('ij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 10 } }))).toBe('');
      await expect(storage.createReadStream('a.txt', { range: { start: 3, end: 2 } })).rejects.toThrow(RangeError);
      await expect(storage.createReadStream('missing.txt', { range: { start: 0, end: 1 } })).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    } finally {
      await done();
    }
  });
});

function recordingClaim(taken: Set<string>): NameClaim & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async claim(name) {
      log.push(`claim ${name}`);
      if (taken.has(name)) return false;
      taken.add(name);
      return true;
    },
    async release(name) {
      log.push(`release ${name}`);
      taken.delete(name);
    },
  };
}

it('getAvailableName with a claim returns a claimed, free name and keeps it claimed', async () => {
  const storage = new MemoryStorage();
  await storage.save('a.txt', 'x');
  const taken = new Set<string>();
  const claim = recordingClaim(taken);
  const name = await storage.getAvailableName('a.txt', 100, claim);
  expect(name).toMatch(/^a_[A-Za-z0-9]{7}\.txt$/);
  // 'a.txt' was claimed, found stored and given back; the returned name stays claimed.
  expect(claim.log).toEqual(['claim a.txt', 'release a.txt', `claim ${name}`]);
  expect([...taken]).toEqual([name]);
});

it('a FieldFile.save whose upload fails abandons the names it still holds', async () => {
  const storage = new MemoryStorage();
  const field = new FileFieldDefinition('Doc', 'file', { storage, uploadTo: 'docs' }, new StorageRegistry());
  const taken = new Set<string>();
  const abandoned: string[] = [];
  const host: FieldFileHost = {
    async persist() {},
    nameClaim: () => recordingClaim(taken),
    async abandon(_instance, _field, name) {
      abandoned.push(name);
    },
  };
  const file = new FieldFile({}, field, null, host);
  const failing = Readable.from(
    (async function* () {
      yield Buffer.from('partial');
      throw new Error('the client went away');
    })(),
  );
  await expect(file.save('a.txt', failing, { save: false })).rejects.toThrow('the client went away');
  expect(abandoned).toEqual(['docs/a.txt']);
  expect(file.name).toBeNull();
  expect(await storage.exists('docs/a.txt')).toBe(false);
});
