import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage, MemoryStorage } from '@filefield/core';
import { describeStorage } from '@filefield/core/testing';

const root = mkdtempSync(join(tmpdir(), 'filefield-fs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStorage('MemoryStorage', (options) => new MemoryStorage(options), { boundedMemory: false, largeFileBytes: 8 * 1024 * 1024, sharedIdentity: false });
describeStorage(
  'FileSystemStorage',
  (options) => new FileSystemStorage({ location: root, baseUrl: 'https://cdn.example.com/media/', ...options }),
  { maxNameBytes: 255 },
);
