/**
 * sendFile and redirectToFile over real HTTP on the filesystem driver and on s3rver: headers,
 * Range (206/416), ETag revalidation (304), If-Range, Content-Disposition for non-ASCII names,
 * active types never inline, 404 for a missing file, and a storage failure answered with a 500
 * that names nothing of the storage.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FieldFile, FileFieldDefinition, FileSystemStorage, type Storage, StorageRegistry } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { S3FaultProxy, type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { redirectToFile, sendFile } from '../src';
import { startServer, type TestServer } from './support/http';

const BYTES = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

describe.each(['filesystem', 's3rver'] as const)('downloads [%s]', (kind) => {
  let storage: Storage;
  let server: TestServer;
  let cleanup: () => Promise<void>;
  let s3: S3rverHandle | undefined;

  beforeAll(async () => {
    if (kind === 'filesystem') {
      const location = await mkdtemp(join(tmpdir(), 'filefield-web-downloads-'));
      storage = new FileSystemStorage({ location, baseUrl: 'http://127.0.0.1:1/media/' });
      cleanup = () => rm(location, { recursive: true, force: true });
    } else {
      s3 = await startS3rver();
      storage = new S3Storage(s3.storageOptions({ location: 'media' }));
      cleanup = () => s3!.stop();
    }
    await storage.save('docs/report.pdf', BYTES);
    await storage.save('docs/page.html', '<script>alert(1)</script>');
    await storage.save('docs/empty.txt', '');
    server = await startServer(async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const name = url.searchParams.get('name') ?? '';
      if (url.pathname === '/redirect') return redirectToFile(res, { storage, name });
      return sendFile(req, res, { storage, name }, {
        disposition: url.searchParams.get('inline') ? 'inline' : 'attachment',
        filename: url.searchParams.get('as') ?? undefined,
      });
    });
  });

  afterAll(async () => {
    await server?.close();
    await cleanup?.();
  });

  const get = (name: string, headers: Record<string, string> = {}, extra = '') =>
    fetch(`${server.url}/file?name=${encodeURIComponent(name)}${extra}`, { headers });

  it('streams the whole file with length, type, disposition, validators and nosniff', async () => {
    const response = await get('docs/report.pdf');
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(BYTES)).toBe(true);
    expect(Object.fromEntries(['content-length', 'content-type', 'content-disposition', 'accept-ranges', 'x-content-type-options'].map((h) => [h, response.headers.get(h)]))).toEqual({
      'content-length': '5000',
      'content-type': 'application/pdf',
      'content-disposition': 'attachment; filename="report.pdf"',
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(response.headers.get('last-modified')!).getTime()).toBeGreaterThan(0);
    const head = await fetch(`${server.url}/file?name=docs/report.pdf`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length'), (await head.arrayBuffer()).byteLength]).toEqual([200, '5000', 0]);
  });

  it('answers Range requests with 206, and 416 past the end', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9],
      ['bytes=4990-', 4990, 4999],
      ['bytes=-5', 4995, 4999],
      ['bytes=100-99999', 100, 4999],
    ];
    for (const [range, start, end] of cases) {
      const response = await get('docs/report.pdf', { range });
      expect({ range, status: response.status, contentRange: response.headers.get('content-range'), length: response.headers.get('content-length') }).toEqual({
        range,
        status: 206,
        contentRange: `bytes ${start}-${end}/5000`,
        length: String(end - start + 1),
      });
      expect(Buffer.from(await response.arrayBuffer()).equals(BYTES.subarray(start, end + 1))).toBe(true);
    }
    const past = await get('docs/report.pdf', { range: 'bytes=5000-' });
    expect([past.status, past.headers.get('content-range')]).toEqual([416, 'bytes */5000']);
    // Several ranges, or a malformed header: the whole file.
    expect((await get('docs/report.pdf', { range: 'bytes=0-1,10-11' })).status).toBe(200);
    expect((await get('docs/report.pdf', { range: 'lines=1-2' })).status).toBe(200);
  });

  it('revalidates with If-None-Match (304) and honours If-Range', async () => {
    const etag = (await get('docs/report.pdf')).headers.get('etag')!;
    const cached = await get('docs/report.pdf', { 'if-none-match': etag });
    expect([cached.status, (await cached.arrayBuffer()).byteLength]).toEqual([304, 0]);
    expect((await get('docs/report.pdf', { 'if-none-match': `W/${etag}, "other"` })).status).toBe(304);
    expect((await get('docs/report.pdf', { 'if-none-match': '"stale"' })).status).toBe(200);
    expect((await get('docs/report.pdf', { range: 'bytes=0-1', 'if-range': etag })).status).toBe(206);
    expect((await get('docs/report.pdf', { range: 'bytes=0-1', 'if-range': '"stale"' })).status).toBe(200);
  });

  it('names the download safely, non-ASCII included, and never serves active types inline', async () => {
    const named = await get('docs/report.pdf', {}, `&as=${encodeURIComponent('Отчёт "final" €.pdf')}&inline=1`);
    // An ASCII fallback for old clients, the UTF-8 name (RFC 5987) for the others; quotes escaped.
    expect(named.headers.get('content-disposition')).toBe(`inline; filename="????? \\"final\\" ?.pdf"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%22final%22%20%E2%82%AC.pdf`);
    const page = await get('docs/page.html', {}, '&inline=1');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-disposition')).toBe('attachment; filename="page.html"');
    const empty = await get('docs/empty.txt');
    expect([empty.status, empty.headers.get('content-length'), (await empty.arrayBuffer()).byteLength]).toEqual([200, '0', 0]);
  });

  it('a missing file is a 404 with a typed body that does not repeat the name', async () => {
    const response = await get('docs/secret-plans.pdf');
    expect(response.status).toBe(404);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ error: { code: 'E_FILE_NOT_FOUND', message: 'The file does not exist.' } });
    expect(body).not.toContain('secret-plans');
    const redirect = await fetch(`${server.url}/redirect?name=docs/secret-plans.pdf`, { redirect: 'manual' });
    expect(redirect.status).toBe(404);
    const empty = new FieldFile({}, new FileFieldDefinition('Doc', 'file', { storage }, new StorageRegistry()), null);
    const response2 = await startServer((req, res) => sendFile(req, res, empty));
    try {
      expect((await fetch(response2.url)).status).toBe(404);
    } finally {
      await response2.close();
    }
  });

  it('redirects to the storage URL (presigned on S3) that serves the same bytes', async () => {
    const redirect = await fetch(`${server.url}/redirect?name=docs/report.pdf`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('cache-control')).toBe('no-store');
    const location = redirect.headers.get('location')!;
    if (kind === 'filesystem') expect(location).toBe('http://127.0.0.1:1/media/docs/report.pdf');
    if (kind === 's3rver') {
      expect(location.startsWith(`${s3!.endpoint}/${s3!.bucket}/media/docs/report.pdf?`)).toBe(true);
      expect(location).toMatch(/X-Amz-Signature=/);
      const followed = await fetch(location);
      expect(Buffer.from(await followed.arrayBuffer()).equals(BYTES)).toBe(true);
    }
  });

  if (kind === 's3rver') {
    it('a storage failure is a 500 that says nothing of the storage', async () => {
      const proxy = await S3FaultProxy.start({ target: s3!.endpoint });
      try {
        const failing = new S3Storage(s3!.storageOptions({ location: 'media', endpointUrl: proxy.endpoint, clientConfig: { maxAttempts: 1 } }));
        proxy.inject({ fault: { kind: 'status', status: 500, message: 'disk on fire at /var/lib/s3' }, times: Infinity });
        const broken = await startServer((req, res) => sendFile(req, res, { storage: failing, name: 'docs/report.pdf' }));
        try {
          const response = await fetch(broken.url);
          const body = await response.text();
          expect(response.status).toBe(500);
          expect(JSON.parse(body)).toEqual({ error: { code: 'E_INTERNAL', message: 'The server could not handle the file.' } });
          for (const secret of [s3!.bucket, proxy.endpoint, 'S3RVER', 'disk on fire', 'media/docs']) expect(body).not.toContain(secret);
        } finally {
          await broken.close();
        }
      } finally {
        await proxy.stop();
      }
    });
  }
});
