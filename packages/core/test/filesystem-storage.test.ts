import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigurationError, FileSystemStorage, SuspiciousFileOperation } from '@filefield/core';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'filefield-fs-only-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('FileSystemStorage', () => {
  it('resolves names inside location and refuses any that leave it, on its own', () => {
    const storage = new FileSystemStorage({ location: root });
    expect(storage.path('a/b.txt')).toBe(join(root, 'a/b.txt'));
    expect(() => storage.path('../x')).toThrow(SuspiciousFileOperation);
    expect(() => storage.path('a/../../x')).toThrow(SuspiciousFileOperation);
    expect(() => storage.path('/etc/passwd')).toThrow(SuspiciousFileOperation);
  });

  it('needs a location, and a baseUrl to build URLs', async () => {
    expect(() => new FileSystemStorage({} as never)).toThrow(ConfigurationError);
    const storage = new FileSystemStorage({ location: root });
    await storage.save('a.txt', 'x');
    await expect(storage.url('a.txt')).rejects.toThrow(/no `baseUrl`/);
    const served = new FileSystemStorage({ location: root, baseUrl: 'https://cdn.example.com/media' });
    expect(await served.url('dir/a b.txt')).toBe('https://cdn.example.com/media/dir/a%20b.txt');
  });

  it('leaves no temporary file behind when the body fails mid-stream', async () => {
    const storage = new FileSystemStorage({ location: root });
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(storage.save('dir/broken.txt', failing)).rejects.toThrow('client went away');
    expect(await storage.exists('dir/broken.txt')).toBe(false);
    expect(await readdir(join(root, 'dir'))).toEqual([]);
  });

  it('never replaces an existing file on an exclusive save, even one written behind its back', async () => {
    const storage = new FileSystemStorage({ location: root });
    await writeFile(join(root, 'taken.txt'), 'original');
    const name = await storage.save('taken.txt', 'new');
    expect(name).toMatch(/^taken_[A-Za-z0-9]{7}\.txt$/);
    expect((await storage.open('taken.txt').read()).toString()).toBe('original');
  });

  it('lists neither files nor directories for symlinks (only real entries)', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'filefield-outside-'));
    try {
      await symlink(outside, join(root, 'link'));
      const storage = new FileSystemStorage({ location: root });
      expect(await storage.listdir('')).toEqual({ directories: [], files: [] });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
