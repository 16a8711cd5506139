/**
 * Request economy, counted at the SDK's HTTP handler: a save is one request where conditional
 * writes work, a read is one GET (no HEAD first), and plain or custom-domain URLs cost nothing:
 * no request and no endpoint resolution per call.
 */
import { S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { describeOnServers } from './support/servers';

describeOnServers('S3Storage request economy', (server) => {
  it('saves in one PUT (overwrite, or unique with conditional writes)', async () => {
    const overwrite = new S3Storage(server().options({ location: 'economy' }));
    const log = recordRequests(overwrite.client);
    await overwrite.save('a.txt', 'a');
    expect(log.requests.map((request) => request.method)).toEqual(['PUT']);

    const unique = new S3Storage(server().options({ location: 'economy', fileOverwrite: false }));
    await unique.conditionalWritesSupported(); // the one-time probe
    const uniqueLog = recordRequests(unique.client);
    await unique.save('b.txt', 'b');
    const expected = server().honoursConditionalWrites ? ['PUT'] : ['HEAD', 'PUT'];
    expect(uniqueLog.requests.map((request) => request.method)).toEqual(expected);
  });

  it('reads with one GET and no HEAD, whether read(n), read() or chunks()', async () => {
    const storage = new S3Storage(server().options({ location: 'economy' }));
    await storage.save('content.txt', 'content');
    const log = recordRequests(storage.client);
    const file = storage.open('content.txt');
    expect((await file.read(3)).toString()).toBe('con');
    expect((await file.read()).toString()).toBe('tent');
    await file.close();
    expect(log.requests.map((request) => request.method)).toEqual(['GET']);
    log.reset();
    const chunks: string[] = [];
    for await (const chunk of storage.open('content.txt').chunks(2)) chunks.push(chunk.toString());
    expect(chunks.join('-')).toBe('co-nt-en-t');
    expect(log.requests.map((request) => request.method)).toEqual(['GET']);
  });

  it('answers exists, size, delete and listdir with one request each', async () => {
    const storage = new S3Storage(server().options({ location: 'economy-meta' }));
    await storage.save('x.txt', 'x');
    const log = recordRequests(storage.client);
    await storage.exists('x.txt');
    await storage.size('x.txt');
    await storage.listdir('');
    await storage.delete('x.txt');
    expect(log.requests.map((request) => request.method)).toEqual(['HEAD', 'HEAD', 'GET', 'DELETE']);
  });

  it('deletes many files with one DeleteObjects per 1,000 names; a key with edge whitespace alone goes by DELETE', async () => {
    const storage = new S3Storage(server().options({ location: 'economy-many' }));
    const names = Array.from({ length: 1201 }, (_, i) => `f${i}.txt`);
    for (let start = 0; start < 601; start += 50) await Promise.all(names.slice(start, start + 50).map((name) => storage.save(name, 'x')));
    const log = recordRequests(storage.client);
    const result = await storage.deleteMany(names);
    expect(result.failed).toEqual([]);
    expect(result.deleted).toHaveLength(1201);
    // Two DeleteObjects calls (1,000 + 201 keys), counted by SDK invocation: s3rver sometimes answers
    // a large one with a 500 first, which the SDK retries with the same invocation id.
    expect(new Set(log.requests.map((request) => request.method))).toEqual(new Set(['POST']));
    expect(new Set(log.requests.map((request) => request.headers['amz-sdk-invocation-id'])).size).toBe(2);
    expect(await storage.exists('f0.txt')).toBe(false);
    expect(await storage.exists('f600.txt')).toBe(false);

    await storage.save('kept.txt', 'kept');
    await storage.save('kept.txt ', 'padded');
    log.reset();
    expect((await storage.deleteMany(['kept.txt ', 'gone.txt'])).failed).toEqual([]);
    expect(log.requests.map((request) => request.method).sort()).toEqual(['DELETE', 'POST']);
    expect((await storage.open('kept.txt').read()).toString()).toBe('kept');
  }, 120_000);

  it('builds plain and custom-domain URLs with no request and no endpoint resolution', async () => {
    for (const extra of [{ querystringAuth: false }, { customDomain: 'cdn.example.com' }]) {
      const storage = new S3Storage(server().options({ location: 'economy', ...extra }));
      const log = recordRequests(storage.client);
      const endpoint = jest.spyOn(storage.client.config, 'endpoint');
      const urls = await Promise.all(Array.from({ length: 100 }, (_, i) => storage.url(`f${i}.txt`)));
      expect(new Set(urls).size).toBe(100);
      expect(log.count).toBe(0);
      expect(endpoint).not.toHaveBeenCalled();
    }
    // An injected client's endpoint is read once, for the first URL.
    const injected = new S3Storage({ bucket: server().bucket, client: server().raw, querystringAuth: false });
    const endpoint = jest.spyOn(server().raw.config, 'endpoint');
    for (let i = 0; i < 10; i += 1) await injected.url(`f${i}.txt`);
    expect(endpoint).toHaveBeenCalledTimes(1);
    endpoint.mockRestore();
  });

  it('presigns URLs without a request', async () => {
    const storage = new S3Storage(server().options({ location: 'economy' }));
    const log = recordRequests(storage.client);
    await storage.url('signed.txt');
    expect(log.count).toBe(0);
  });
});
