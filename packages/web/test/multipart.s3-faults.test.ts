/**
 * receiveMultipart on s3rver when the file is refused by a validator, or when the S3 server fails
 * in the middle of a multipart upload (a fault proxy answers 500 to an UploadPart): the client
 * gets a 415 or a 500 that names nothing of the storage, the bucket holds nothing, and the
 * upload's ledger claim is abandoned (TypeORM on SQLite).
 */
import { randomSuffix } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { S3FaultProxy, type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { ContentTypeValidator, receiveMultipart, sendError } from '../src';
import { form, pdfBytes, pngBytes, startServer, type TestServer } from './support/http';
import { type LifecycleWorld, openWorld } from './support/lifecycle';

const TIMEOUT = 120_000;
const MIB = 1024 * 1024;

let s3: S3rverHandle;
let proxy: S3FaultProxy;
let storage: S3Storage;
let world: LifecycleWorld;
let server: TestServer;

beforeAll(async () => {
  s3 = await startS3rver();
  proxy = await S3FaultProxy.start({ target: s3.endpoint });
  // No SDK retries: the injected failure is the one the handler sees.
  storage = new S3Storage(s3.storageOptions({ endpointUrl: proxy.endpoint, id: `web-s3-faults:${randomSuffix(10)}`, clientConfig: { maxAttempts: 1 } }));
  world = await openWorld('sqlite', storage);
  server = await startServer(async (req, res) => {
    const profile = new world.Profile();
    try {
      await receiveMultipart(req, { files: { avatar: { to: profile.avatar, validators: [new ContentTypeValidator(['image/png'])] } }, ledger: world.installation.ledger });
      await world.dataSource.manager.save(profile);
      res.writeHead(201).end(JSON.stringify({ name: profile.avatar.name }));
    } catch (error) {
      sendError(res, error);
    }
  });
}, TIMEOUT);

afterAll(async () => {
  await server?.close();
  await world?.close();
  await proxy?.stop();
  await s3?.stop();
}, TIMEOUT);

const objects = async () => {
  const out: string[] = [];
  for await (const { name } of storage.walk()) out.push(name);
  return out;
};

it('a file of another type is refused (415) before a byte reaches S3', async () => {
  const response = await fetch(server.url, { method: 'POST', body: form([['avatar', pdfBytes(MIB), 'cv.png']]) });
  expect(response.status).toBe(415);
  expect(await objects()).toEqual([]);
  // Refused on its first bytes: no name was claimed for it.
  expect(await world.ledgerRows()).toEqual([]);
}, TIMEOUT);

it('an S3 failure mid-upload is a 500 without internals; the bucket holds nothing and the claim is abandoned', async () => {
  const fault = proxy.inject({ fault: { kind: 'status', status: 500, message: 'internal detail at 10.0.0.7' }, match: { method: 'PUT', query: 'partNumber' }, skip: 1 });
  const response = await fetch(server.url, { method: 'POST', body: form([['avatar', pngBytes(30 * MIB), 'big.png']]) });
  const body = await response.text();
  expect(response.status).toBe(500);
  expect(JSON.parse(body)).toEqual({ error: { code: 'E_INTERNAL', message: 'The server could not handle the file.' } });
  for (const secret of [s3.bucket, 'avatars/big.png', '10.0.0.7', 'S3RVER', proxy.endpoint]) expect(body).not.toContain(secret);
  expect(fault.hits).toBe(1);
  expect(await objects()).toEqual([]);
  expect(await world.ledgerRows()).toEqual([{ name: 'avatars/big.png', state: 'present', claimExpired: true }]);
  await world.installation.sweep();
  expect((await world.ledgerRows())[0].state).toBe('deleted');
}, TIMEOUT);
