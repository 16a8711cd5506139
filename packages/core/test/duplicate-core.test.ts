/**
 * Two copies of @filefield/core in one process (issue 12): a second copy is loaded with
 * jest.isolateModules, which evaluates every module of the core again, so its classes and its
 * `storages` are distinct objects, as with a nested install under another package.
 */
import * as core from '@filefield/core';
import { FileFieldDefinition, FieldFile } from '@filefield/core';

const SHARED_REGISTRY = Symbol.for('@filefield/core/storages');

function loadSecondCopy(): typeof core {
  let copy: typeof core | undefined;
  jest.isolateModules(() => {
    copy = require('@filefield/core');
  });
  return copy!;
}

afterEach(() => core.storages.clear());

describe('a second copy of the core', () => {
  const other = loadSecondCopy();

  it('is a separate copy', () => {
    expect(other.ContentFile).not.toBe(core.ContentFile);
    expect(other.Storage).not.toBe(core.Storage);
    expect(other.FieldFile).not.toBe(core.FieldFile);
  });

  it("recognises the other copy's ContentFile, LocalFile and storages with instanceof", () => {
    expect(new other.ContentFile('x')).toBeInstanceOf(core.ContentFile);
    expect(new core.ContentFile('x')).toBeInstanceOf(other.ContentFile);
    expect(new other.LocalFile('/tmp/x')).toBeInstanceOf(core.LocalFile);
    expect(new other.MemoryStorage()).toBeInstanceOf(core.Storage);
    expect(new core.FileSystemStorage({ location: '/tmp/filefield-brand' })).toBeInstanceOf(other.Storage);
    // A brand vouches for its own class only.
    expect(new other.ContentFile('x')).not.toBeInstanceOf(core.LocalFile);
    expect(new other.MemoryStorage()).not.toBeInstanceOf(core.FileSystemStorage);
    expect({}).not.toBeInstanceOf(core.Storage);
    expect(null instanceof core.ContentFile).toBe(false);
  });

  it("recognises the other copy's FieldFile, and subclasses keep their own check", () => {
    const field = new other.FileFieldDefinition('Profile', 'avatar', { storage: new other.MemoryStorage() });
    const file = new other.FieldFile({}, field, 'a.txt');
    expect(file).toBeInstanceOf(FieldFile);
    class OwnFieldFile extends FieldFile {}
    expect(file).not.toBeInstanceOf(OwnFieldFile);
    expect(new OwnFieldFile({}, new FileFieldDefinition('P', 'f', {}), null)).toBeInstanceOf(other.FieldFile);
  });

  it("recognises the other copy's errors by class, not only by code", () => {
    const error = new other.FileNotFoundError('a.txt');
    expect(error).toBeInstanceOf(core.FileNotFoundError);
    expect(error).toBeInstanceOf(core.FileFieldError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(core.FileExistsError);
    expect(new other.StorageTimeoutError('slow')).toBeInstanceOf(core.StorageUnavailableError);
    expect(new other.StorageUnavailableError('down')).not.toBeInstanceOf(core.StorageTimeoutError);
  });

  it("saves the other copy's ContentFile (the check that used to refuse it)", async () => {
    const storage = new core.MemoryStorage();
    const name = await storage.save('hello.txt', new other.ContentFile('hello'));
    expect((await storage.open(name).read()).toString()).toBe('hello');
    const field = new FileFieldDefinition('Profile', 'avatar', { storage });
    const file = new FieldFile({}, field, null);
    await file.save('named.txt', new other.ContentFile('named'), { save: false });
    expect(file.name).toBe('named.txt');
  });

  it('shares one storage registry: setDefault through one copy holds for the other', () => {
    expect(other.storages).toBe(core.storages);
    const memory = new core.MemoryStorage();
    core.storages.setDefault(memory);
    expect(other.storages.get()).toBe(memory);
    const named = new other.MemoryStorage();
    other.storages.register('media', named);
    expect(core.storages.get('media')).toBe(named);
  });

  it("shares one reference-source registry: the other copy's sweeper asks this copy's installations", async () => {
    expect(other.fileReferences).toBe(core.fileReferences);
    const storage = new core.MemoryStorage();
    const unregister = core.fileReferences.register({ label: 'this copy', storages: () => [storage], referencedNames: async (_id, names) => new Set(names.filter((name) => name === 'kept.txt')) });
    try {
      expect([...(await other.fileReferences.referencedNames(storage.id, ['kept.txt', 'gone.txt']))]).toEqual(['kept.txt']);
    } finally {
      unregister();
    }
  });

  it('refuses to load a copy of an incompatible version, naming both', () => {
    const global = globalThis as unknown as Record<symbol, { version: string; location: string; registry: unknown }>;
    const shared = global[SHARED_REGISTRY];
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, SHARED_REGISTRY)!;
    // Pretend the copy loaded first was 1.4.2: the registry is non-writable, so swap it for the test.
    delete global[SHARED_REGISTRY];
    Object.defineProperty(globalThis, SHARED_REGISTRY, { ...descriptor, value: { ...shared, version: '1.4.2', location: '/app/node_modules/@filefield/core/dist' } });
    try {
      expect(loadSecondCopy).toThrow(/Two incompatible copies of @filefield\/core are loaded: 1\.4\.2 \(\/app\/node_modules\/@filefield\/core\/dist\) and 0\.\d+\.\d+/);
    } finally {
      delete global[SHARED_REGISTRY];
      Object.defineProperty(globalThis, SHARED_REGISTRY, descriptor);
    }
    expect(loadSecondCopy().storages).toBe(core.storages);
  });
});
