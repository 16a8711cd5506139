/**
 * The real S3 servers the tests run against: s3rver in-process (always) and the external
 * server given by FILEFIELD_S3_* (radosgw in CI; MinIO or AWS work the same way, see
 * test-support/services.ts). `describeOnServers` runs one block of tests on each.
 *
 * External server: a fresh bucket `filefield-test-<random>` is created and removed afterwards,
 * unless FILEFIELD_S3_BUCKET names an existing bucket to use (AWS accounts that may not create
 * buckets); tests then work under a random prefix. FILEFIELD_S3_KMS_KEY_ID names a KMS key for
 * the aws:kms test (radosgw's CI script provides `testkey-1`).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomSuffix } from '@filefield/core';
import type { S3StorageOptions } from '@filefield/s3';
import { startS3rver } from '@filefield/s3/testing';
import { describeWith, externalS3 } from '../../../../test-support/services';

export interface S3Server {
  /** 's3rver', 'radosgw', 'minio', 'aws', ... */
  readonly label: string;
  readonly endpoint: string;
  readonly bucket: string;
  /** A key prefix unique to this test file (the bucket may be shared). */
  readonly prefix: string;
  /** What the server is known to do; tests assert stored state only where it does it. */
  readonly verifiesSignatures: boolean;
  readonly enforcesAcl: boolean;
  readonly honoursConditionalWrites: boolean;
  readonly reportsAes256: boolean;
  readonly kmsKeyId: string | undefined;
  readonly secretAccessKey: string;
  /** Options for a storage on this server, under `prefix` (pass `location` to go deeper). */
  options(overrides?: Partial<S3StorageOptions>): S3StorageOptions;
  /** An SDK client for checking what the server stored, independent of the driver. */
  readonly raw: S3Client;
  stop(): Promise<void>;
}

async function startS3rverServer(): Promise<S3Server> {
  const server = await startS3rver();
  const prefix = `t-${randomSuffix(8)}`;
  const base = server.storageOptions();
  return {
    label: 's3rver',
    endpoint: server.endpoint,
    bucket: server.bucket,
    prefix,
    verifiesSignatures: false,
    enforcesAcl: false,
    honoursConditionalWrites: false,
    reportsAes256: false,
    kmsKeyId: undefined,
    secretAccessKey: 'S3RVER',
    options: (overrides = {}) => ({ ...base, location: prefixed(prefix, overrides.location), ...withoutLocation(overrides) }),
    raw: rawClient(server.endpoint, 'S3RVER', 'S3RVER', 'us-east-1'),
    stop: () => server.stop(),
  };
}

async function startExternalServer(): Promise<S3Server> {
  const external = externalS3();
  if (!external) throw new Error('FILEFIELD_S3_ENDPOINT is not set');
  const raw = rawClient(external.endpoint, external.accessKeyId, external.secretAccessKey, external.region);
  const given = process.env.FILEFIELD_S3_BUCKET;
  const bucket = given ?? `filefield-test-${randomSuffix(10).toLowerCase()}`;
  if (!given) await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  const prefix = `t-${randomSuffix(8)}`;
  const isRadosgw = external.server === 'radosgw';
  return {
    label: external.server,
    endpoint: external.endpoint,
    bucket,
    prefix,
    verifiesSignatures: true,
    enforcesAcl: true,
    honoursConditionalWrites: true,
    // radosgw accepts AES256 but does not echo x-amz-server-side-encryption (see the radosgw notes).
    reportsAes256: !isRadosgw,
    kmsKeyId: process.env.FILEFIELD_S3_KMS_KEY_ID ?? (isRadosgw ? 'testkey-1' : undefined),
    secretAccessKey: external.secretAccessKey,
    options: (overrides = {}) => ({
      bucket,
      endpointUrl: external.endpoint,
      region: external.region,
      accessKeyId: external.accessKeyId,
      secretAccessKey: external.secretAccessKey,
      location: prefixed(prefix, overrides.location),
      ...withoutLocation(overrides),
    }),
    raw,
    async stop() {
      await emptyPrefix(raw, bucket, given ? `${prefix}/` : '');
      if (!given) await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
      raw.destroy();
    },
  };
}

function prefixed(prefix: string, location: string | undefined): string {
  return location ? `${prefix}/${location}` : prefix;
}

function withoutLocation(overrides: Partial<S3StorageOptions>): Partial<S3StorageOptions> {
  const { location: _location, ...rest } = overrides;
  return rest;
}

export function rawClient(endpoint: string, accessKeyId: string, secretAccessKey: string, region: string): S3Client {
  return new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Delete every object under `prefix` ('' = the whole bucket). */
export async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined }));
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** The keys under `prefix`, without it, sorted (one listing page: tests keep few objects). */
export async function keysUnder(server: S3Server, prefix: string): Promise<string[]> {
  const page = await server.raw.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!.slice(prefix.length)).sort();
}

/** Multipart uploads still open under `prefix`; undefined on s3rver, which keeps no list of them (it has no such call). */
export async function openUploads(server: S3Server, prefix: string): Promise<number | undefined> {
  if (server.label === 's3rver') return undefined;
  const page = await server.raw.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: prefix }));
  return (page.Uploads ?? []).length;
}

/** A lazily started server for one describe block: `server()` inside tests and hooks. */
function useServer(start: () => Promise<S3Server>): () => S3Server {
  let current: S3Server | undefined;
  beforeAll(async () => {
    current = await start();
  });
  afterAll(async () => {
    await current?.stop();
  });
  return () => {
    if (!current) throw new Error('the S3 server has not started');
    return current;
  };
}

/** Run `body` once on s3rver and once on the external server (radosgw in CI; skipped visibly if absent). */
export function describeOnServers(title: string, body: (server: () => S3Server) => void): void {
  describe(`${title} [s3rver]`, () => body(useServer(startS3rverServer)));
  describeWith('radosgw', `${title} [${externalS3()?.server ?? 'external S3'}]`, () => body(useServer(startExternalServer)));
}

export { startExternalServer, startS3rverServer };
