import { inspect } from 'node:util';
import {
  ContentFile,
  FieldFile,
  type FieldFileHost,
  FileFieldDefinition,
  MemoryStorage,
  NoFileError,
  OperationAbortedError,
  StorageRegistry,
  SuspiciousFileOperation,
} from '@filefield/core';

class Row {
  id?: number;
}

function setup(options: ConstructorParameters<typeof FileFieldDefinition<Row>>[2] = {}) {
  const storage = new MemoryStorage();
  const field = new FileFieldDefinition<Row>('MyStorage', 'normal', { uploadTo: 'tests', storage, ...options });
  const persisted: Array<string | null> = [];
  const discarded: string[] = [];
  const host: FieldFileHost<Row> = {
    async persist(_instance, _field, file, change) {
      persisted.push(file.name);
      if (change?.discarded) discarded.push(change.discarded);
    },
  };
  const row = new Row();
  return { storage, field, row, persisted, discarded, file: new FieldFile(row, field, null, host) };
}

describe('FieldFile', () => {
  it("fails with Django's message when no file is associated", async () => {
    const { file } = setup();
    expect(inspect(file)).toBe('<FieldFile: None>');
    expect(file.hasFile).toBe(false);
    await expect(file.size()).rejects.toThrow(new NoFileError('normal'));
    await expect(file.size()).rejects.toThrow("The 'normal' attribute has no file associated with it.");
    await expect(file.url()).rejects.toBeInstanceOf(NoFileError);
    await expect(file.read()).rejects.toBeInstanceOf(NoFileError);
    expect(() => file.open()).toThrow(NoFileError);
    expect(await file.exists()).toBe(false);
  });

  it('saves under uploadTo, persists the row, then reads, reopens and chunks (the seed doctest)', async () => {
    const { file, persisted, storage } = setup();
    const stored = await file.save('django_test.txt', new ContentFile('content'));
    expect(stored).toBe('tests/django_test.txt');
    expect(inspect(file)).toBe('<FieldFile: tests/django_test.txt>');
    expect(persisted).toEqual(['tests/django_test.txt']);
    expect(await file.size()).toBe(7);
    expect((await file.read()).toString()).toBe('content');
    file.open();
    expect((await file.read(3)).toString()).toBe('con');
    expect((await file.read()).toString()).toBe('tent');
    const chunks: string[] = [];
    for await (const chunk of file.chunks(2)) chunks.push(chunk.toString());
    expect(chunks.join('-')).toBe('co-nt-en-t');
    expect(await file.url()).toBe('memory://tests/django_test.txt');
    expect(JSON.stringify({ normal: file })).toBe('{"normal":"tests/django_test.txt"}');
    expect(storage.names()).toEqual(['tests/django_test.txt']);
  });

  it('gives a second save of the same name a unique name', async () => {
    const { field, storage } = setup();
    const first = new FieldFile(new Row(), field, null);
    const second = new FieldFile(new Row(), field, null);
    await first.save('django_test.txt', new ContentFile('content'), { save: false });
    await second.save('django_test.txt', new ContentFile('more content'), { save: false });
    expect(second.name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
    expect(await second.size()).toBe(12);
    expect(storage.names()).toHaveLength(2);
  });

  it('does no storage I/O until asked, and caches the size', async () => {
    const { field, storage } = setup();
    await storage.save('tests/a.txt', 'abc');
    const calls: string[] = [];
    const spy = jest.spyOn(storage, 'size').mockImplementation(async (name) => {
      calls.push(name);
      return 3;
    });
    const file = new FieldFile(new Row(), field, 'tests/a.txt');
    expect(file.name).toBe('tests/a.txt');
    expect(calls).toEqual([]);
    expect(await file.size()).toBe(3);
    expect(await file.size()).toBe(3);
    expect(calls).toEqual(['tests/a.txt']);
    spy.mockRestore();
  });

  it('evaluates a function uploadTo exactly once per save (Django #5655)', async () => {
    let calls = 0;
    const { field, storage } = setup({
      uploadTo: (_row: Row, filename: string) => {
        calls += 1;
        return `dir-${calls}/${filename}`;
      },
    });
    const file = new FieldFile(new Row(), field, null);
    await file.save('random_file', new ContentFile('random content'), { save: false });
    expect(calls).toBe(1);
    expect(file.name).toBe('dir-1/random_file');
    expect(storage.names()).toEqual(['dir-1/random_file']);
  });

  it('expands strftime tokens in a string uploadTo', async () => {
    const { field } = setup({ uploadTo: 'uploads/%Y/%m/%d' });
    const file = new FieldFile(new Row(), field, null);
    await file.save('a b.txt', 'x', { save: false });
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    expect(file.name).toBe(`uploads/${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())}/a_b.txt`);
  });

  it('refuses unsafe names before any upload or persist', async () => {
    const { file, storage, persisted } = setup();
    await expect(file.save('../../etc/passwd', 'x')).rejects.toBeInstanceOf(SuspiciousFileOperation);
    const { file: evil, storage: evilStorage } = setup({ uploadTo: () => '../outside.txt' });
    await expect(evil.save('a.txt', 'x')).rejects.toBeInstanceOf(SuspiciousFileOperation);
    expect(storage.names()).toEqual([]);
    expect(evilStorage.names()).toEqual([]);
    expect(persisted).toEqual([]);
    expect(file.name).toBeNull();
  });

  it('delete through an adapter empties the field and hands the name to the adapter, which releases it with the row', async () => {
    const { file, storage, persisted, discarded } = setup();
    await file.save('a.txt', 'x');
    await file.delete();
    expect(file.name).toBeNull();
    expect(storage.names()).toEqual(['tests/a.txt']); // the sweeper deletes it once the row is committed
    expect(persisted).toEqual(['tests/a.txt', null]);
    expect(discarded).toEqual(['tests/a.txt']);
    await expect(file.delete()).resolves.toBeUndefined();
  });

  it('delete without an adapter deletes at once, as Django does, but never the default file', async () => {
    const storage = new MemoryStorage();
    const field = new FileFieldDefinition<Row>('MyStorage', 'normal', { storage, default: 'default.txt' });
    await storage.save('default.txt', 'default');
    await storage.save('a.txt', 'a');
    const file = new FieldFile(new Row(), field, 'a.txt');
    await file.delete({ save: false });
    expect(file.name).toBeNull();
    const fallback = new FieldFile(new Row(), field, 'default.txt');
    await fallback.delete({ save: false });
    expect(storage.names()).toEqual(['default.txt']);
    await expect(new FieldFile(new Row(), field, 'default.txt').delete()).rejects.toThrow(/not attached to an ORM adapter/);
    expect(storage.names()).toEqual(['default.txt']);
  });

  it('passes an AbortSignal to the storage: an aborted save keeps the old name and persists nothing', async () => {
    const { file, storage, persisted } = setup();
    await file.save('a.txt', 'first');
    const fired = AbortSignal.abort();
    await expect(file.save('b.txt', 'second', { signal: fired })).rejects.toBeInstanceOf(OperationAbortedError);
    expect(file.name).toBe('tests/a.txt');
    expect(persisted).toEqual(['tests/a.txt']);
    expect(storage.names()).toEqual(['tests/a.txt']);
    await expect(file.open('r', { signal: fired }).read()).rejects.toBeInstanceOf(OperationAbortedError);
    await file.close();
    await expect(file.chunks(2, { signal: fired }).next()).rejects.toBeInstanceOf(OperationAbortedError);

    const hostless = new FieldFile(new Row(), new FileFieldDefinition<Row>('MyStorage', 'normal', { storage }), 'tests/a.txt');
    await expect(hostless.delete({ save: false, signal: fired })).rejects.toBeInstanceOf(OperationAbortedError);
    expect(hostless.name).toBe('tests/a.txt');
    expect(storage.names()).toEqual(['tests/a.txt']);
  });

  it('tracks whether the program changed the field: a persisted save or delete settles it, a failed one or { save: false } does not', async () => {
    const { file, storage } = setup();
    expect([file.savedName, file.changed]).toEqual([null, false]);
    const saved = await file.save('a.txt', new ContentFile('a'));
    expect([file.savedName, file.changed]).toEqual([saved, false]);
    const draft = await file.save('b.txt', new ContentFile('b'), { save: false });
    expect([file.name, file.savedName, file.changed]).toEqual([draft, saved, true]);
    file.settle(saved);
    expect([file.name, file.changed]).toEqual([saved, false]);
    file.assigned = true;
    expect(file.changed).toBe(true);
    await file.delete();
    expect([file.name, file.savedName, file.changed]).toEqual([null, null, false]);

    const failing = new FieldFile(new Row(), file.field, saved, {
      async persist() {
        throw new Error('the row is gone');
      },
    });
    await expect(failing.save('c.txt', new ContentFile('c'))).rejects.toThrow('the row is gone');
    expect([failing.name, failing.savedName, failing.changed]).toEqual([saved, saved, false]);
    await expect(failing.delete()).rejects.toThrow('the row is gone');
    expect([failing.name, failing.changed]).toEqual([saved, false]);
    expect(await storage.exists(saved)).toBe(true);
  });

  it('says what to do when saving the row is impossible without an adapter', async () => {
    const { field } = setup();
    const file = new FieldFile(new Row(), field, null);
    await expect(file.save('a.txt', 'x')).rejects.toThrow(/not attached to an ORM adapter.*save: false/);
  });
});

describe('FileFieldDefinition and StorageRegistry', () => {
  it('resolves storages by instance, name and factory, lazily', () => {
    const registry = new StorageRegistry();
    const made: MemoryStorage[] = [];
    registry.register('lazy', () => {
      const storage = new MemoryStorage();
      made.push(storage);
      return storage;
    });
    const field = new FileFieldDefinition('M', 'f', { storage: 'lazy' }, registry);
    expect(made).toHaveLength(0);
    expect(field.storage).toBe(made[0]);
    expect(field.storage).toBe(made[0]);
    expect(made).toHaveLength(1);
    const instance = new MemoryStorage();
    expect(new FileFieldDefinition('M', 'g', { storage: instance }, registry).storage).toBe(instance);
    expect(new FileFieldDefinition('M', 'h', { storage: () => instance }, registry).storage).toBe(instance);
  });

  it('uses the registered default storage, and names unknown storages clearly', () => {
    const registry = new StorageRegistry();
    const fallback = new MemoryStorage();
    registry.setDefault(fallback);
    expect(new FileFieldDefinition('M', 'f', {}, registry).storage).toBe(fallback);
    const missing = new FileFieldDefinition('M', 'f', { storage: 'nope' }, registry);
    expect(() => missing.storage).toThrow("Could not find a storage named 'nope' (registered: 'default')");
  });

  it('refuses an unsafe default name and a bad maxLength', () => {
    expect(() => new FileFieldDefinition('M', 'f', { default: '../x' })).toThrow(SuspiciousFileOperation);
    expect(() => new FileFieldDefinition('M', 'f', { maxLength: 0 })).toThrow(/M#f: maxLength/);
  });
});
