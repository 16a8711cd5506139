/**
 * `storage.capabilities()`: what the bucket's server really does, found by trying it on scratch
 * objects (`<location>/.filefield-probe-<random>`), all removed afterwards. For an app to log
 * once at startup, as `filefield check` would.
 */
import { DeleteObjectCommand, DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomSuffix } from '@filefield/core';
import type { Readable } from 'node:stream';
import { probeConditionalWrites, type UploadHeaders } from './conditional-writes';
import { s3StatusCode } from './errors';
import { encodeKey } from './urls';

/** 'confirmed': the server said it applied it; 'accepted': it took the request without saying so (s3rver, radosgw for AES256); 'refused'. */
export type Support = 'confirmed' | 'accepted' | 'refused';

export interface Capabilities {
  /** PutObject with `If-None-Match: *` is refused (412) when the key exists: unique names are race-free. */
  conditionalWrites: boolean;
  /** Canned ACLs are enforced: an anonymous GET is refused for a `private` object and served for a `public-read` one. */
  acl: boolean;
  /** Server-side encryption on PutObject; `aws:kms` only when the storage is configured for it (with its `kmsKeyId`). */
  serverSideEncryption: { AES256: Support; 'aws:kms'?: Support };
  /** DeleteObjects (bulk delete, used by `deleteMany`) works. */
  deleteObjects: boolean;
}

export interface CapabilityProbe {
  client: S3Client;
  bucket: string;
  prefix: string;
  /** What every upload of the storage carries (a bucket policy may demand it). */
  headers: UploadHeaders;
  /** The bucket's URL on S3, ending in '/', for the anonymous reads. */
  bucketUrl: () => Promise<string>;
  /** undefined: do not probe aws:kms; null: the server's default key; else that key. */
  kmsKeyId: string | null | undefined;
}

/** Statuses with which a server says it will not do this (bad request, forbidden, not implemented). */
function isRefusal(error: unknown): boolean {
  const status = s3StatusCode(error);
  return status !== undefined && status >= 400 && status < 500 ? true : status === 501;
}

export async function probeCapabilities(probe: CapabilityProbe): Promise<Capabilities> {
  const { client, bucket, prefix, headers } = probe;
  const base = `${prefix ? `${prefix}/` : ''}.filefield-probe-${randomSuffix(16)}`;
  const written: string[] = [];
  const put = async (suffix: string, extra: UploadHeaders): Promise<{ ok: true; sse?: string } | { ok: false }> => {
    const key = `${base}-${suffix}`;
    try {
      const response = await client.send(new PutObjectCommand({ ...headers, ...extra, Bucket: bucket, Key: key, Body: Buffer.from('probe'), ContentLength: 5 }));
      written.push(key);
      return { ok: true, sse: response.ServerSideEncryption };
    } catch (error) {
      if (isRefusal(error)) return { ok: false };
      throw error;
    }
  };
  const encryption = async (extra: UploadHeaders, expected: string): Promise<Support> => {
    const result = await put(expected === 'AES256' ? 'sse' : 'kms', extra);
    if (!result.ok) return 'refused';
    return result.sse === expected ? 'confirmed' : 'accepted';
  };

  try {
    const conditionalWrites = await probeConditionalWrites(client, bucket, prefix, headers);
    const closed = await put('private', { ACL: 'private' });
    const open = await put('public', { ACL: 'public-read' });
    let acl = false;
    if (closed.ok && open.ok) {
      const url = await probe.bucketUrl();
      const [privateStatus, publicStatus] = [await anonymousGet(client, url + encodeKey(`${base}-private`)), await anonymousGet(client, url + encodeKey(`${base}-public`))];
      acl = privateStatus === 403 && publicStatus === 200;
    }
    const serverSideEncryption: Capabilities['serverSideEncryption'] = {
      AES256: await encryption({ ServerSideEncryption: 'AES256', SSEKMSKeyId: undefined }, 'AES256'),
    };
    if (probe.kmsKeyId !== undefined) {
      serverSideEncryption['aws:kms'] = await encryption({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: probe.kmsKeyId ?? undefined }, 'aws:kms');
    }
    return { conditionalWrites, acl, serverSideEncryption, deleteObjects: await deleteAll(client, bucket, written) };
  } finally {
    // What DeleteObjects did not remove (it failed, or a probe before it did): one key at a time.
    if (written.length > 0) {
      await Promise.all(written.map((key) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined)));
    }
  }

  /** DeleteObjects for the scratch keys (emptying `keys` when they are gone); false when the server does not do it. */
  async function deleteAll(s3: S3Client, name: string, keys: string[]): Promise<boolean> {
    if (keys.length === 0) return true;
    try {
      const response = await s3.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Quiet: true, Objects: keys.map((Key) => ({ Key })) } }));
      const ok = (response.Errors ?? []).length === 0;
      if (ok) keys.length = 0;
      return ok;
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return false;
    }
  }
}

/** An unsigned GET through the client's own request handler (its proxy, TLS and pool settings); the status. */
async function anonymousGet(client: S3Client, url: string): Promise<number> {
  const target = new URL(url);
  const handler = client.config.requestHandler as unknown as {
    handle(request: object): Promise<{ response: { statusCode: number; body?: Readable } }>;
  };
  const { response } = await handler.handle({
    method: 'GET',
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port === '' ? undefined : Number(target.port),
    path: target.pathname,
    query: {},
    headers: { host: target.host },
  });
  // Read to the end, so the connection goes back to the pool.
  const body = response.body;
  if (body && typeof body.resume === 'function') {
    await new Promise<void>((resolve) => {
      body.once('end', resolve);
      body.once('error', () => resolve());
      body.once('close', resolve);
      body.resume();
    });
  }
  return response.statusCode;
}
