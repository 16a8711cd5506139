/**
 * `storage.capabilities()`: what the bucket's server does, tried for real on scratch objects.
 * s3rver and radosgw differ: s3rver ignores If-None-Match and ACLs, radosgw honours both.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { describeOnServers } from './support/servers';

describeOnServers('capabilities()', (server) => {
  it('reports conditional writes, ACL enforcement, SSE and DeleteObjects as the server behaves', async () => {
    const kmsKeyId = server().kmsKeyId;
    const storage = new S3Storage(server().options({ location: 'capabilities', ...(kmsKeyId ? { encryption: 'aws:kms' as const, kmsKeyId } : {}) }));
    const log = recordRequests(storage.client);
    const report = await storage.capabilities();
    log.restore();
    expect(report.conditionalWrites).toBe(server().honoursConditionalWrites);
    expect(report.acl).toBe(server().enforcesAcl);
    expect(report.deleteObjects).toBe(true);
    // radosgw encrypts with AES256 without echoing it; s3rver takes the header and ignores it.
    expect(report.serverSideEncryption.AES256).toBe(server().reportsAes256 ? 'confirmed' : 'accepted');
    if (kmsKeyId) expect(report.serverSideEncryption['aws:kms']).toBe('confirmed');
    else expect(report.serverSideEncryption['aws:kms']).toBeUndefined();
    // 3 for the conditional-write probe, 2 ACL puts and 2 anonymous GETs (not through the SDK), 1-2 SSE puts, 1 DeleteObjects.
    expect(log.requests.filter((request) => request.method === 'PUT')).toHaveLength(kmsKeyId ? 6 : 5);
    // (s3rver answers the first DeleteObjects after the anonymous GETs with a 500; the SDK's retry succeeds.)
    const bulkDeletes = log.requests.filter((request) => request.method === 'POST' && 'delete' in request.query);
    expect(bulkDeletes.length).toBeGreaterThanOrEqual(1);
    expect(log.requests.filter((request) => request.method === 'DELETE')).toHaveLength(1); // the conditional-write probe's own

    // Nothing is left behind.
    const listing = await server().raw.send(new ListObjectsV2Command({ Bucket: server().bucket, Prefix: `${server().prefix}/capabilities/` }));
    expect(listing.Contents ?? []).toEqual([]);

    // The probe answered the question unique names ask: no second probe.
    const again = recordRequests(storage.client);
    expect(await storage.conditionalWritesSupported()).toBe(server().honoursConditionalWrites);
    expect(again.count).toBe(0);
    again.restore();
  });

  it('probes for real even when conditionalWrites is set, without changing the setting', async () => {
    const storage = new S3Storage(server().options({ location: 'capabilities-set', conditionalWrites: false }));
    const report = await storage.capabilities();
    expect(report.conditionalWrites).toBe(server().honoursConditionalWrites);
    expect(await storage.conditionalWritesSupported()).toBe(false);
  });
});
