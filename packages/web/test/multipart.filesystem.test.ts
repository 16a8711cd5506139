/**
 * receiveMultipart on the filesystem driver over real HTTP: what is stored, what is refused
 * (name rules, sniffed types, the size limit at maxSize + 1, an empty file), and that a refusal,
 * a client that disconnects mid-body, a storage error or a later part's failure leaves nothing.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileFieldDefinition, FieldFile, FileSystemStorage, OperationAbortedError, StorageRegistry } from '@filefield/core';
import { ContentTypeValidator, FileExtensionValidator, FileSizeValidator, receiveMultipart, sendError, type MultipartOptions } from '../src';
import { filesUnder } from './support/files';
import { form, pngBytes, startServer, type TestServer } from './support/http';

let root: string;
let storage: FileSystemStorage;
let server: TestServer;
let options: () => MultipartOptions;
let lastOutcome: Promise<unknown>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'filefield-web-multipart-'));
  storage = new FileSystemStorage({ location: root });
  server = await startServer(async (req, res) => {
    const outcome = receiveMultipart(req, options());
    lastOutcome = outcome.then(
      (value) => ({ ok: value }),
      (error) => ({ error }),
    );
    try {
      const result = await outcome;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      sendError(res, error);
    }
  });
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async () => {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  options = () => ({ files: { avatar: { to: storage, validators: [new FileSizeValidator({ maxSize: 1024 * 1024 }), new ContentTypeValidator(['image/png'])] } } });
});

async function post(body: FormData) {
  const response = await fetch(`${server.url}/upload`, { method: 'POST', body });
  return { status: response.status, body: (await response.json()) as any };
}

it('streams the file into the storage and returns the fields and what was stored', async () => {
  const bytes = pngBytes(300_000);
  const { status, body } = await post(form([['title', 'Holiday'], ['avatar', bytes, 'my photo.png']]));
  expect(status).toBe(201);
  expect(body.fields).toEqual({ title: 'Holiday' });
  expect(body.files.avatar).toEqual({ field: 'avatar', filename: 'my_photo.png', name: 'my_photo.png', size: 300_000, contentType: 'image/png' });
  expect(Buffer.compare(Buffer.concat(await collect(await storage.createReadStream('my_photo.png'))), bytes)).toBe(0);
  // A second upload of the same name gets a free one.
  const again = await post(form([['avatar', bytes, 'my photo.png']]));
  expect(again.body.files.avatar.name).toMatch(/^my_photo_[A-Za-z0-9]{7}\.png$/);
});

it('takes exactly maxSize bytes and refuses maxSize + 1 with 413, leaving nothing', async () => {
  expect((await post(form([['avatar', pngBytes(1024 * 1024), 'a.png']]))).status).toBe(201);
  await rm(join(root, 'a.png'));
  const { status, body } = await post(form([['avatar', pngBytes(1024 * 1024 + 1), 'a.png']]));
  expect(status).toBe(413);
  expect(body).toEqual({ error: { code: 'E_FILE_TOO_LARGE', message: "The file in 'avatar' is larger than 1048576 bytes.", field: 'avatar' } });
  expect(await filesUnder(root)).toEqual([]);
});

it.each([
  ['a type the bytes do not have (text named .png)', [['avatar', Buffer.from('<html><script>alert(1)</script>'), 'x.png']], 415, 'E_FILE_TYPE'],
  ['an empty file', [['avatar', Buffer.alloc(0), 'x.png']], 400, 'E_FILE_TOO_SMALL'],
  ['a path as the file name', [['avatar', pngBytes(), '../../x.png']], 400, 'E_FILE_NAME'],
  ['a bidi override in the file name', [['avatar', pngBytes(), 'x\u202Egnp.exe']], 400, 'E_FILE_NAME'],
  ['a file for a field the handler does not take', [['other', pngBytes(), 'x.png']], 400, 'E_UNEXPECTED_FILE'],
  ['two files for one field', [['avatar', pngBytes(), 'x.png'], ['avatar', pngBytes(), 'y.png']], 400, 'E_TOO_MANY_FILES'],
  ['no file', [['title', 'x']], 400, 'E_MISSING_FILE'],
] as const)('refuses %s and stores nothing', async (_, parts, status, code) => {
  const response = await post(form(parts as never));
  expect({ status: response.status, code: response.body.error.code }).toEqual({ status, code });
  expect(await filesUnder(root)).toEqual([]);
});

it('refuses a request that is not multipart', async () => {
  const response = await fetch(`${server.url}/upload`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
  expect(response.status).toBe(400);
  expect(((await response.json()) as any).error.code).toBe('E_MALFORMED_UPLOAD');
});

it('removes the files already stored when a later part fails', async () => {
  options = () => ({
    files: {
      first: { to: storage },
      second: { to: storage, validators: [new FileExtensionValidator(['pdf'])] },
    },
  });
  const response = await post(form([['first', pngBytes(50_000), 'one.png'], ['second', pngBytes(), 'two.png']]));
  expect(response.status).toBe(400);
  expect(response.body.error).toMatchObject({ code: 'E_FILE_EXTENSION', field: 'second' });
  expect(await filesUnder(root)).toEqual([]);
});

it('a client that disconnects mid-upload leaves nothing (not even a temporary file)', async () => {
  const boundary = 'filefieldboundary';
  const req = request(`${server.url}/upload`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  req.on('error', () => undefined);
  req.write(`--${boundary}\r\ncontent-disposition: form-data; name="avatar"; filename="big.png"\r\ncontent-type: image/png\r\n\r\n`);
  req.write(pngBytes(256 * 1024));
  // Wait until the server is writing the file (its temporary file exists), then go away.
  await until(async () => (await filesUnder(root)).length > 0);
  req.destroy();
  const outcome = (await until(() => lastOutcome)) as { error?: unknown };
  expect(outcome.error).toBeInstanceOf(OperationAbortedError);
  expect(await filesUnder(root)).toEqual([]);
});

it('a storage error answers 500 without internals and leaves nothing', async () => {
  const registry = new StorageRegistry();
  const field = new FileFieldDefinition('Doc', 'file', { uploadTo: 'blocked', storage }, registry);
  // `blocked` is a file, so the driver cannot make the directory: a real ENOTDIR from the filesystem.
  await writeFile(join(root, 'blocked'), 'x');
  options = () => ({ files: { avatar: { to: new FieldFile({}, field, null) } } });
  const response = await post(form([['avatar', pngBytes(), 'x.png']]));
  expect(response.status).toBe(500);
  expect(response.body).toEqual({ error: { code: 'E_INTERNAL', message: 'The server could not handle the file.' } });
  expect(JSON.stringify(response.body)).not.toContain(root);
  expect(await filesUnder(root)).toEqual(['blocked']);
});

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** Poll until `check` gives a truthy value (bounded by the test's own timeout, not by a clock here). */
async function until<T>(check: () => T | Promise<T>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('stops reading a refused body soon after the limit: a 64 MiB body for a 1 MiB limit is not read to its end', async () => {
  const boundary = 'drainboundary';
  const total = 64 * 1024 * 1024;
  const req = request(`${server.url}/upload`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
  req.on('error', () => undefined);
  const response = new Promise<number>((resolve) => req.once('response', (res) => resolve(res.statusCode ?? 0)));
  req.write(`--${boundary}\r\ncontent-disposition: form-data; name="avatar"; filename="big.png"\r\ncontent-type: image/png\r\n\r\n`);
  let written = 0;
  let answered = false;
  void response.then(() => (answered = true));
  const chunk = pngBytes(64 * 1024);
  // Write until the response comes (or everything is written, which would be the failure).
  while (!answered && written < total) {
    const flushed = req.write(chunk);
    written += chunk.length;
    if (!flushed) await Promise.race([new Promise((resolve) => req.once('drain', resolve)), response]);
  }
  expect(await response).toBe(413);
  expect(written).toBeLessThan(total);
  req.destroy();
  expect(await filesUnder(root)).toEqual([]);
});
