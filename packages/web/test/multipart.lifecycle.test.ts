/**
 * receiveMultipart into a TypeORM entity's FieldFile, on the filesystem driver and on s3rver, with
 * the ledger on SQLite and PostgreSQL: a stored part is claimed and referenced by the row's save;
 * a refused one (the size limit mid-stream, a client that disconnects) leaves no object and its
 * claim abandoned, so the next sweep clears it at once instead of after the grace period.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage, OperationAbortedError, type Storage, randomSuffix } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { FileSizeValidator, receiveMultipart, sendError } from '../src';
import { describeWith } from '../../../test-support/services';
import { form, pngBytes, startServer, type TestServer } from './support/http';
import { type DatabaseKind, type LifecycleWorld, openWorld } from './support/lifecycle';

const TIMEOUT = 120_000;
const MIB = 1024 * 1024;

type StorageKind = 'filesystem' | 's3rver';

function suite(kind: DatabaseKind, storageKind: StorageKind) {
  let world: LifecycleWorld;
  let storage: Storage;
  let server: TestServer;
  let cleanup: () => Promise<void>;
  let outcome: Promise<{ error?: unknown }>;
  // Big enough on S3 to go multipart (8 MiB parts): the abort must take a started multipart upload back.
  const maxSize = storageKind === 's3rver' ? 20 * MIB : 2 * MIB;

  beforeAll(async () => {
    if (storageKind === 'filesystem') {
      const location = await mkdtemp(join(tmpdir(), 'filefield-web-lifecycle-'));
      storage = new FileSystemStorage({ location, id: `web-multipart:${randomSuffix(10)}` });
      cleanup = () => rm(location, { recursive: true, force: true });
    } else {
      const s3: S3rverHandle = await startS3rver();
      storage = new S3Storage(s3.storageOptions({ id: `web-multipart:${randomSuffix(10)}` }));
      cleanup = () => s3.stop();
    }
    world = await openWorld(kind, storage);
    server = await startServer(async (req, res) => {
      const profile = new world.Profile();
      profile.owner = 'ada';
      const received = receiveMultipart(req, { files: { avatar: { to: profile.avatar, validators: [new FileSizeValidator({ maxSize })] } }, ledger: world.installation.ledger });
      outcome = received.then(() => ({}), (error: unknown) => ({ error }));
      try {
        await received;
        await world.dataSource.manager.save(profile);
        res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: profile.id, avatar: profile.avatar.name }));
      } catch (error) {
        sendError(res, error);
      }
    });
  }, TIMEOUT);

  afterAll(async () => {
    await server?.close();
    await world?.close();
    await cleanup?.();
  }, TIMEOUT);

  const stored = async () => (await storage.listdir('avatars')).files;

  it('stores the part under uploadTo, claimed, and the row save references it', async () => {
    const response = await fetch(`${server.url}/`, { method: 'POST', body: form([['avatar', pngBytes(MIB), 'face.png']]) });
    expect(response.status).toBe(201);
    const { id, avatar } = (await response.json()) as { id: number; avatar: string };
    expect(avatar).toBe('avatars/face.png');
    expect(await storage.size(avatar)).toBe(MIB);
    // Referenced: the claim is cleared, so no sweep may take it.
    expect(await world.ledgerRows()).toEqual([{ name: 'avatars/face.png', state: 'present', claimExpired: null }]);
    await world.installation.sweep({ now: Date.now() + 2 * 3600_000 });
    expect(await storage.exists(avatar)).toBe(true);
    const loaded = await world.dataSource.manager.findOneByOrFail(world.Profile, { id });
    expect(loaded.avatar.name).toBe(avatar);
  }, TIMEOUT);

  it('over the limit: 413, no object, the claim abandoned and swept at once', async () => {
    const response = await fetch(`${server.url}/`, { method: 'POST', body: form([['avatar', pngBytes(maxSize + 1), 'big.png']]) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as any).error.code).toBe('E_FILE_TOO_LARGE');
    expect((await outcome).error).toMatchObject({ code: 'E_FILE_TOO_LARGE' });
    expect(await stored()).toEqual(['face.png']);
    expect(await world.ledgerRows()).toContainEqual({ name: 'avatars/big.png', state: 'present', claimExpired: true });
    await world.installation.sweep();
    // Swept: what is left of the name is the sweeper's tombstone.
    expect((await world.ledgerRows()).find((row) => row.name === 'avatars/big.png')?.state).toBe('deleted');
    expect(await stored()).toEqual(['face.png']);
  }, TIMEOUT);

  it('a client that disconnects mid-upload: no object, the claim abandoned', async () => {
    const boundary = 'b0undary';
    const req = request(`${server.url}/`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\ncontent-disposition: form-data; name="avatar"; filename="gone.png"\r\ncontent-type: image/png\r\n\r\n`);
    const before = outcome;
    // More than one S3 part, so a multipart upload is under way when the client goes.
    const chunk = pngBytes(MIB);
    for (let i = 0; i < (storageKind === 's3rver' ? 10 : 1); i += 1) await new Promise<void>((resolve) => req.write(chunk, () => resolve()));
    // The claim row appears once the server started this part's save.
    await until(async () => (await world.ledgerRows()).some((row) => row.name === 'avatars/gone.png'));
    req.destroy();
    await until(() => outcome !== before);
    expect((await outcome).error).toBeInstanceOf(OperationAbortedError);
    expect(await stored()).toEqual(['face.png']);
    expect(await world.ledgerRows()).toContainEqual({ name: 'avatars/gone.png', state: 'present', claimExpired: true });
    await world.installation.sweep();
    expect((await world.ledgerRows()).find((row) => row.name === 'avatars/gone.png')?.state).toBe('deleted');
  }, TIMEOUT);
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

for (const storageKind of ['filesystem', 's3rver'] as const) {
  describe(`multipart into a TypeORM row [sqlite × ${storageKind}]`, () => suite('sqlite', storageKind));
  describeWith('postgres', `multipart into a TypeORM row [postgres × ${storageKind}]`, () => suite('postgres', storageKind));
}
