/**
 * The two capabilities @filefield/web uses: ranged reads (one ranged GET; gzipped objects are
 * read whole and sliced, as their stored bytes are not the file's) and upload targets (presigned
 * POSTs whose policy the server enforces: radosgw checks it, s3rver ignores it).
 */
import { Readable } from 'node:stream';
import { S3Storage } from '@filefield/s3';
import { describeOnServers } from './support/servers';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString('latin1');
  return out;
}

describeOnServers('ranges and upload targets', (server) => {
  it('reads ranges, fewer bytes at the end, none past it', async () => {
    for (const gzip of [false, true]) {
      const storage = new S3Storage(server().options({ location: `ranges-${gzip}`, gzip, gzipContentTypes: ['text/plain'] }));
      await storage.save('a.txt', 'abcdefghij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 2, end: 4 } }))).toBe('cde');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 7 } }))).toBe('hij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 8, end: 99 } }))).toBe('ij');
      expect(await text(await storage.createReadStream('a.txt', { range: { start: 10 } }))).toBe('');
      await expect(storage.createReadStream('missing.txt', { range: { start: 0, end: 1 } })).rejects.toMatchObject({ code: 'E_FILE_NOT_FOUND' });
    }
  });

  it('creates presigned POST targets with the size range, content type, ACL and SSE as conditions', async () => {
    const storage = new S3Storage(server().options({ location: 'targets', defaultAcl: 'private' }));
    const target = await storage.createUploadTarget('a/b.png', { maxSize: 10, contentType: 'image/png', expiresIn: 60 });
    expect(target).toMatchObject({ method: 'POST', fileField: 'file', fields: { key: storage.key('a/b.png'), 'Content-Type': 'image/png', acl: 'private' } });
    const policy = JSON.parse(Buffer.from(target.fields.Policy, 'base64').toString());
    expect(policy.conditions).toEqual(expect.arrayContaining([['content-length-range', 1, 10], { key: storage.key('a/b.png') }, { 'Content-Type': 'image/png' }]));
    const post = (bytes: number) => {
      const body = new FormData();
      for (const [key, value] of Object.entries(target.fields)) body.append(key, value);
      body.append('file', new Blob([Buffer.alloc(bytes, 1)]), 'b.png');
      return fetch(target.url, { method: 'POST', body });
    };
    expect((await post(10)).status).toBe(204);
    expect(await storage.size('a/b.png')).toBe(10);
    expect((await post(11)).status).toBe(server().verifiesSignatures ? 400 : 204);
    await expect(storage.createUploadTarget('c.png', { maxSize: 1, minSize: 2, expiresIn: 60 })).rejects.toThrow(/minSize <= maxSize/);
    await expect(storage.createUploadTarget('c.png', { maxSize: 1, expiresIn: 8 * 24 * 3600 })).rejects.toThrow(/expiresIn/);
    await expect(storage.createUploadTarget('../c.png', { maxSize: 1, expiresIn: 60 })).rejects.toMatchObject({ code: 'E_SUSPICIOUS_NAME' });
  });
});
