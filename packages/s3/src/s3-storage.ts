/**
 * Files in an S3 bucket (AWS, radosgw, MinIO, s3rver), with django-storages' settings.
 * Names are stored under `location/` as keys. Reads are one streamed GET; uploads are one
 * PutObject when small and of known size, multipart otherwise; unique names use conditional
 * writes where the server honours them (see conditional-writes.ts). Every call takes the
 * caller's AbortSignal; uploads of streams that can be reopened are retried (see retries.ts).
 */
import {
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  type ByteRange,
  type CallOptions,
  ConfigurationError,
  type ContentSource,
  type DeleteManyResult,
  type DirectoryListing,
  FileExistsError,
  FileNotFoundError,
  type NameLimits,
  Storage,
  type UploadTarget,
  type UploadTargetOptions,
  type WriteOptions,
} from '@filefield/core';
import { lookup as mimeLookup } from 'mime-types';
import { randomUUID } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, createGzip, gzipSync } from 'node:zlib';
import { buildClient, DEFAULT_REGION } from './client';
import { isPreconditionFailure, isThisWrite, probeConditionalWrites, processKeyLocks, WRITE_TOKEN_METADATA } from './conditional-writes';
import { mapDownloadError, mapS3Error, s3ErrorCode, s3StatusCode } from './errors';
import { fromEnv } from './from-env';
import { type ObjectParameters, parseEndpoint, type ResolvedS3Options, resolveOptions, type S3StorageOptions } from './options';
import { Presigner } from './presign';
import { presignV2 } from './signature-v2';
import { UploadRetries } from './retries';
import { type UploadBody, type UploadPlan, uploadBody } from './upload';
import { bucketUrlBase, bucketUrlBaseFromClient, checkUrlOptions, encodeKey, queryString, type S3UrlOptions } from './urls';
import { type Capabilities, probeCapabilities } from './capabilities';
import { clientConfigMovesEndpoint } from './client-config';
import { presignedPost } from './upload-targets';

/** `url(name)` without options (the presigner's defaults apply). */
const NO_URL_OPTIONS: S3UrlOptions = Object.freeze({});

/** DeleteObjects takes at most this many keys per request. */
const DELETE_OBJECTS_LIMIT = 1000;

export class S3Storage extends Storage {
  readonly bucket: string;
  /** The key prefix (AWS_LOCATION), without leading or trailing slash. */
  readonly location: string;
  readonly client: S3Client;
  private readonly settings: ResolvedS3Options;
  private readonly lockScope: string;
  private readonly identityBase: string;
  private plainUrlBase: string | Promise<string> | undefined;
  /** With a custom domain: the bucket's own URL, for upload URLs and the capability probe. */
  private bucketUrl: Promise<string> | undefined;
  /** SigV4 presigned URLs, created with the first one (presign.ts). */
  private presigner: Presigner | undefined;
  private conditionalWriteSupport: Promise<boolean> | undefined;
  private bucketReady: Promise<void> | undefined;
  private readonly retries: UploadRetries;

  constructor(options: S3StorageOptions) {
    const settings = resolveOptions(options);
    super({ fileOverwrite: settings.fileOverwrite, id: options.id });
    this.settings = settings;
    this.bucket = settings.bucket;
    this.location = settings.location;
    this.client = options.client ?? buildClient(options);
    this.retries = new UploadRetries(() => this.client.config.maxAttempts());
    if (settings.conditionalWrites !== 'auto') this.conditionalWriteSupport = Promise.resolve(settings.conditionalWrites);
    if (settings.customDomain !== undefined) {
      this.plainUrlBase = `${settings.urlProtocol}//${settings.customDomain}/`;
    } else if (options.client === undefined && !clientConfigMovesEndpoint(options.clientConfig)) {
      const endpoint = options.endpointUrl === undefined ? undefined : parseEndpoint(options.endpointUrl);
      this.plainUrlBase = bucketUrlBase({
        bucket: this.bucket,
        endpoint,
        region: options.region ?? DEFAULT_REGION,
        addressingStyle: options.addressingStyle ?? (endpoint ? 'path' : 'auto'),
        useSsl: options.useSsl ?? true,
      });
    }
    this.lockScope = `${options.endpointUrl ?? options.region ?? ''}|${this.bucket}|`;
    this.identityBase = options.client !== undefined || clientConfigMovesEndpoint(options.clientConfig) ? clientIdentity(options) : options.endpointUrl !== undefined ? parseEndpoint(options.endpointUrl).origin : `aws:${options.region ?? DEFAULT_REGION}`;
  }

  /**
   * A storage configured from django-storages' environment variables (AWS_STORAGE_BUCKET_NAME,
   * AWS_S3_ENDPOINT_URL, ...; see the README); `overrides` win over the environment.
   */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<S3StorageOptions> = {}): S3Storage {
    const fromEnvironment = fromEnv(env);
    const options = { ...fromEnvironment, ...overrides };
    // `transfer` is a group: an override of one of its settings keeps the others from AWS_S3_TRANSFER_CONFIG.
    if (fromEnvironment.transfer && overrides.transfer) options.transfer = { ...fromEnvironment.transfer, ...overrides.transfer };
    return new S3Storage(options as S3StorageOptions);
  }

  /** The S3 key a storage name is stored under (the name behind `location`). */
  key(name: string): string {
    return this.location === '' ? name : `${this.location}/${name}`;
  }

  /**
   * Whether exclusive writes are atomic on this server (If-None-Match honoured), from the
   * `conditionalWrites` option or a one-time probe.
   */
  async conditionalWritesSupported(): Promise<boolean> {
    return this.call('check conditional writes', undefined, () => this.probeOnce());
  }

  protected async writeObject(name: string, source: ContentSource, options: WriteOptions): Promise<void> {
    const { signal } = options;
    await this.ready();
    const key = this.key(name);
    const plan = this.uploadPlan(name, key, signal);
    // The SDK resends buffers by itself; a stream it consumed can only be resent by opening it again.
    const retried = !source.buffer && source.replayable;
    const attempt = (write: () => Promise<void>) => this.call('save', name, () => (retried ? this.retries.run(write, signal) : write()));
    if (!options.exclusive) {
      await attempt(() => uploadBody(plan, this.uploadBody(source, plan.params), {}, async () => undefined));
      return;
    }
    // The probe is shared by concurrent saves: one caller's signal stops its own wait, not the probe.
    if (await this.call('save', name, () => untilAborted(this.probeOnce(), signal))) {
      // One token for every try: a retry must recognise what an earlier try of it wrote.
      const token = { value: randomUUID(), tries: 0 };
      await attempt(() => this.writeConditionally(name, key, plan, source, token));
      return;
    }
    await processKeyLocks.run(this.lockScope + key, async () => {
      if (await this.objectExists(name, 'save')) throw new FileExistsError(name);
      await attempt(() => uploadBody(plan, this.uploadBody(source, plan.params), {}, async () => undefined));
    });
  }

  protected async readObject(name: string, options: CallOptions = {}): Promise<Readable> {
    await this.ready();
    const response = await this.call('read', name, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name) }), { abortSignal: options.signal }),
    );
    const body = response.Body as Readable | undefined;
    if (!body) return Readable.from([]);
    this.mapStreamErrors(body, 'read', name);
    if (response.ContentEncoding?.toLowerCase() !== 'gzip') return body;
    // Stored gzipped (AWS_IS_GZIPPED): give back the original bytes, as a browser would see them.
    return pipeline(body, createGunzip(), () => undefined);
  }

  /** One ranged GET. With gzip, stored bytes are not the file's: undefined, and the core reads it whole. */
  protected override async readObjectRange(name: string, range: ByteRange, options: CallOptions = {}): Promise<Readable | undefined> {
    if (this.settings.gzip) return undefined;
    await this.ready();
    const Range = `bytes=${range.start}-${range.end ?? ''}`;
    try {
      const response = await this.call('read', name, () =>
        this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name), Range }), { abortSignal: options.signal }),
      );
      const body = response.Body as Readable | undefined;
      if (!body) return Readable.from([]);
      this.mapStreamErrors(body, 'read', name);
      return body;
    } catch (error) {
      // 416: the range starts at or past the end, where the contract gives an empty stream.
      if (s3StatusCode((error as { cause?: unknown }).cause ?? error) === 416) return Readable.from([]);
      throw error;
    }
  }

  /**
   * A presigned POST for `name` (see upload-targets.ts): S3 refuses a body outside the size range
   * or of another declared type. The storage's ACL and encryption apply; objectParameters and
   * gzip do not (the browser sends the bytes as they are).
   */
  override async createUploadTarget(name: string, options: UploadTargetOptions): Promise<UploadTarget> {
    this.checkName(name);
    await this.ready();
    const { settings } = this;
    return this.call('create upload target', name, () =>
      presignedPost(this.client, this.bucket, this.key(name), options, {
        acl: settings.defaultAcl,
        encryption: settings.encryption === false ? undefined : settings.encryption,
        kmsKeyId: settings.kmsKeyId,
      }),
    );
  }

  /**
   * CopyObject: one request, the bytes stay in the bucket (up to 5 GB, S3's limit for one copy
   * and for a POST upload). The content type and metadata come from the source; the storage's
   * ACL and encryption are applied to the copy, as to every upload. `If-None-Match: *` asks the
   * server to refuse a taken destination (FileExistsError); radosgw 16 and s3rver do not check it
   * on a copy, which is why callers pass a claimed free name.
   */
  override async copy(source: string, destination: string, options: CallOptions = {}): Promise<void> {
    this.checkName(source);
    this.checkName(destination);
    await this.ready();
    const { settings } = this;
    const input: CopyObjectCommandInput = {
      Bucket: this.bucket,
      Key: this.key(destination),
      CopySource: `${this.bucket}/${encodeKey(this.key(source))}`,
      MetadataDirective: 'COPY',
      IfNoneMatch: '*',
    };
    if (settings.defaultAcl !== undefined) input.ACL = settings.defaultAcl;
    if (settings.encryption !== false) input.ServerSideEncryption = settings.encryption;
    if (settings.kmsKeyId !== undefined) input.SSEKMSKeyId = settings.kmsKeyId;
    try {
      await this.call('copy', source, () => this.client.send(new CopyObjectCommand(input), { abortSignal: options.signal }));
    } catch (error) {
      if (isPreconditionFailure((error as { cause?: unknown }).cause ?? error)) throw new FileExistsError(destination, undefined, { cause: error });
      throw error;
    }
  }

  protected async objectExists(name: string, operation = 'exists'): Promise<boolean> {
    try {
      await this.head(name, operation);
      return true;
    } catch (error) {
      if (error instanceof FileNotFoundError) return false;
      throw error;
    }
  }

  protected async deleteObject(name: string, options: CallOptions = {}): Promise<void> {
    await this.ready();
    // S3 answers 204 for a missing key too.
    await this.call('delete', name, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) }), { abortSignal: options.signal }),
    );
  }

  /** The stored size: for objects saved gzipped (AWS_IS_GZIPPED) that is the compressed size. */
  protected async objectSize(name: string): Promise<number> {
    return (await this.head(name, 'size')).ContentLength ?? 0;
  }

  /**
   * The file's URL: presigned for `querystringExpire` seconds (AWS_QUERYSTRING_AUTH), plain, or
   * on the `customDomain`, where it is a CloudFront signed URL with `cloudfrontKey`. Per call
   * (django-storages' `url(name, parameters, expire, http_method)`): query `parameters` signed
   * into it, another lifetime (`expire`), and `method: 'PUT'` for a presigned upload URL on S3.
   */
  override async url(name: string, options?: S3UrlOptions): Promise<string> {
    if (options === undefined) return super.url(name);
    checkUrlOptions(options);
    return this.urlFor(this.checkName(name), options);
  }

  protected async objectUrl(name: string): Promise<string> {
    return this.urlFor(name, NO_URL_OPTIONS);
  }

  private async urlFor(name: string, options: S3UrlOptions): Promise<string> {
    const key = this.key(name);
    const { settings } = this;
    const method = options.method ?? 'GET';
    const expire = options.expire ?? settings.querystringExpire;
    // An upload URL is always S3's, presigned: a CDN serves reads, and an unsigned PUT is refused.
    if (method === 'GET' && settings.customDomain !== undefined) {
      const url = (await this.urlBase()) + encodeKey(key) + queryString(options.parameters);
      if (!settings.querystringAuth || settings.cloudfront === undefined) return url;
      const { signer, policy } = settings.cloudfront;
      return signer.sign(url, expire, { ...policy, ...options.cloudfrontPolicy });
    }
    if (options.cloudfrontPolicy !== undefined) {
      throw new ConfigurationError('url() `cloudfrontPolicy` applies to CloudFront signed URLs: GET on the customDomain with cloudfrontKey.');
    }
    if (method === 'GET' && !settings.querystringAuth) return (await this.s3UrlBase()) + encodeKey(key) + queryString(options.parameters);
    if (settings.signatureVersion === 's3') {
      if (method !== 'GET' || options.parameters !== undefined) {
        throw new ConfigurationError("With signatureVersion 's3' (SigV2), url() takes `expire` only: no `parameters` and no `method: 'PUT'`.");
      }
      const credentials = await this.call('url', name, () => this.client.config.credentials());
      return presignV2((await this.s3UrlBase()) + encodeKey(key), this.bucket, credentials, expire, new Date());
    }
    const presigner = (this.presigner ??= new Presigner(this.client, this.bucket, settings.querystringExpire));
    const request = options === NO_URL_OPTIONS ? undefined : { method, parameters: options.parameters, expiresIn: expire };
    return this.call('url', name, () => presigner.url(key, new Date(), request));
  }

  /**
   * What this bucket supports, found by trying it (scratch objects under the location, removed
   * afterwards): conditional writes (If-None-Match), canned ACLs enforced for anonymous readers,
   * server-side encryption, DeleteObjects. About 10 requests; for a log line at startup.
   */
  async capabilities(): Promise<Capabilities> {
    await this.ready();
    const { Bucket, Key, ContentType, ...headers } = this.uploadPlan('.filefield-probe', '', undefined).params;
    const report = await this.call('check capabilities', undefined, () =>
      probeCapabilities({
        client: this.client,
        bucket: this.bucket,
        prefix: this.location,
        headers,
        bucketUrl: () => this.s3UrlBase(),
        kmsKeyId: this.settings.encryption === 'aws:kms' ? (this.settings.kmsKeyId ?? null) : undefined,
      }),
    );
    // The probe answered what the 'auto' setting would have probed for.
    if (this.settings.conditionalWrites === 'auto') this.conditionalWriteSupport ??= Promise.resolve(report.conditionalWrites);
    return report;
  }

  protected async objectModifiedTime(name: string): Promise<Date> {
    const modified = (await this.head(name, 'modifiedTime')).LastModified;
    if (!modified) throw new FileNotFoundError(name);
    return modified;
  }

  protected async listObjects(path: string): Promise<DirectoryListing> {
    await this.ready();
    const prefix = path === '' ? (this.location === '' ? '' : `${this.location}/`) : `${this.key(path)}/`;
    const directories: string[] = [];
    const files: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('listdir', undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token })),
      );
      for (const common of page.CommonPrefixes ?? []) {
        const directory = common.Prefix?.slice(prefix.length).replace(/\/$/, '');
        if (directory) directories.push(directory);
      }
      for (const object of page.Contents ?? []) {
        const file = object.Key?.slice(prefix.length);
        // A key ending in '/' is a "folder" placeholder made by consoles, not a file.
        if (file && !file.endsWith('/')) files.push(file);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { directories, files };
  }

  /** The server (endpoint origin, or AWS and its region), bucket and location: storages that agree hold the same files. */
  protected override identity(): string {
    return `s3:${this.identityBase}/${this.bucket}/${this.location}`;
  }

  /** S3 keys are at most 1024 bytes of UTF-8, and the location prefix is part of the key. */
  protected override nameLimits(): NameLimits {
    return { maxBytes: 1024 - (this.location === '' ? 0 : Buffer.byteLength(`${this.location}/`, 'utf8')) };
  }

  /**
   * DeleteObjects, 1000 keys per request; each key's error is reported on its own. A key that
   * starts or ends with whitespace goes through DeleteObject instead: XML parsers of some servers
   * trim it (s3rver deletes `a.txt` for `a.txt `), which would delete another file.
   */
  protected override async deleteObjects(names: string[], options: CallOptions = {}): Promise<DeleteManyResult> {
    await this.ready();
    const padded = names.filter((name) => /^\s|\s$/.test(this.key(name)));
    const result = padded.length > 0 ? await super.deleteObjects(padded, options) : { deleted: [], failed: [] };
    const bulk = padded.length > 0 ? names.filter((name) => !padded.includes(name)) : names;
    for (let start = 0; start < bulk.length; start += DELETE_OBJECTS_LIMIT) {
      const batch = bulk.slice(start, start + DELETE_OBJECTS_LIMIT);
      const byKey = new Map(batch.map((name) => [this.key(name), name]));
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((name) => ({ Key: this.key(name) })) } }),
          { abortSignal: options.signal },
        );
        const failed = new Set<string>();
        for (const error of response.Errors ?? []) {
          const name = error.Key === undefined ? undefined : byKey.get(error.Key);
          if (name === undefined || failed.has(name)) continue;
          failed.add(name);
          const cause = Object.assign(new Error(error.Message ?? error.Code ?? 'DeleteObjects error'), { name: error.Code ?? 'Error', Code: error.Code });
          result.failed.push({ name, error: mapS3Error(cause, { bucket: this.bucket, operation: 'delete', name, key: error.Key }) });
        }
        for (const name of batch) if (!failed.has(name)) result.deleted.push(name);
      } catch (error) {
        const mapped = mapS3Error(error, { bucket: this.bucket, operation: 'delete' });
        for (const name of batch) result.failed.push({ name, error: mapped });
      }
    }
    return result;
  }

  /** One paged listing of the whole prefix (no delimiter), with each object's LastModified. */
  protected override async *walkObjects(path: string): AsyncGenerator<{ name: string; modified: Date }> {
    await this.ready();
    const base = this.location === '' ? '' : `${this.location}/`;
    const prefix = path === '' ? base : `${this.key(path)}/`;
    let token: string | undefined;
    do {
      const page = await this.call('walk', undefined, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || object.Key.endsWith('/')) continue;
        yield { name: object.Key.slice(base.length), modified: object.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  // ---- internals ----

  /** The bucket's (or custom domain's) URL, ending in '/': computed once. */
  private async urlBase(): Promise<string> {
    this.plainUrlBase ??= bucketUrlBaseFromClient(this.client, this.bucket);
    if (typeof this.plainUrlBase !== 'string') this.plainUrlBase = await this.plainUrlBase;
    return this.plainUrlBase;
  }

  /** The bucket's own URL on S3 (never the custom domain), ending in '/'. */
  private async s3UrlBase(): Promise<string> {
    if (this.settings.customDomain === undefined) return this.urlBase();
    this.bucketUrl ??= bucketUrlBaseFromClient(this.client, this.bucket);
    return this.bucketUrl;
  }

  /**
   * One exclusive upload. Each write carries a random token in its metadata, so that a 412 can be
   * told apart: when the response to a conditional PUT was lost, the SDK (or the retry above)
   * sends it again and meets the object its own first try created. That object is this write,
   * not a taken name, and must not make the save move on to `name_XXXXXXX` and leave it behind.
   */
  private async writeConditionally(
    name: string,
    key: string,
    plan: UploadPlan,
    source: ContentSource,
    token: { value: string; tries: number },
  ): Promise<void> {
    token.tries += 1;
    const params = { ...plan.params, Metadata: { ...plan.params.Metadata, [WRITE_TOKEN_METADATA]: token.value } };
    const tokenPlan = { ...plan, params };
    // Only a request sent more than once can meet its own object; a first 412 costs no HEAD.
    const isOurs = (error: unknown) =>
      (token.tries > 1 || sdkAttempts(error) > 1) && isThisWrite(this.client, this.bucket, key, token.value, plan.signal);
    // A multipart upload claims the name first with a conditional empty PutObject, because
    // radosgw ignores If-None-Match on CompleteMultipartUpload; the upload then replaces the claim.
    // The claim carries the upload's own headers (SSE, ACL, object parameters): a bucket policy
    // that demands them would refuse a bare one.
    let claimed = false;
    const claim = async () => {
      try {
        await this.client.send(new PutObjectCommand({ ...params, Body: Buffer.alloc(0), ContentLength: 0, IfNoneMatch: '*' }), {
          abortSignal: plan.signal,
        });
      } catch (error) {
        if (!isPreconditionFailure(error) || !(await isOurs(error))) throw error;
      }
      claimed = true;
    };
    try {
      await uploadBody(tokenPlan, this.uploadBody(source, params), { IfNoneMatch: '*' }, claim);
    } catch (error) {
      if (isPreconditionFailure(error)) {
        if (!claimed && (await isOurs(error))) return;
        throw new FileExistsError(name, undefined, { cause: error });
      }
      if (claimed) {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
      }
      throw error;
    }
  }

  /** The one probe for conditional-write support, shared by every caller; a failed probe is tried again next time. */
  private probeOnce(): Promise<boolean> {
    // The probe object carries what every upload carries, for buckets whose policy demands it.
    const { Bucket, Key, ContentType, ...headers } = this.uploadPlan('.filefield-probe', '', undefined).params;
    this.conditionalWriteSupport ??= probeConditionalWrites(this.client, this.bucket, this.location, headers).catch((error: unknown) => {
      this.conditionalWriteSupport = undefined;
      throw error;
    });
    return this.conditionalWriteSupport;
  }

  private uploadPlan(name: string, key: string, signal: AbortSignal | undefined): UploadPlan {
    const { settings } = this;
    const params: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'> = {
      Bucket: this.bucket,
      Key: key,
      ContentType: mimeLookup(name) || 'application/octet-stream',
    };
    if (settings.defaultAcl !== undefined) params.ACL = settings.defaultAcl;
    if (settings.encryption !== false) params.ServerSideEncryption = settings.encryption;
    if (settings.kmsKeyId !== undefined) params.SSEKMSKeyId = settings.kmsKeyId;
    Object.assign(params, this.objectParameters(name));
    return {
      client: this.client,
      params,
      multipartThreshold: settings.transfer.multipartThreshold,
      partSize: settings.transfer.partSize,
      queueSize: settings.transfer.concurrency,
      signal,
    };
  }

  private objectParameters(name: string): ObjectParameters {
    const extra = this.settings.objectParameters(name);
    return extra !== null && typeof extra === 'object' ? extra : {};
  }

  /** The body to send; gzipped (and marked so) when the content type is in gzipContentTypes. */
  private uploadBody(source: ContentSource, params: Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>): UploadBody {
    const gzip =
      this.settings.gzip &&
      params.ContentEncoding === undefined &&
      this.settings.gzipContentTypes.has((params.ContentType ?? '').split(';')[0].trim().toLowerCase());
    if (gzip) {
      params.ContentEncoding = 'gzip';
      if (source.buffer) return { kind: 'buffer', buffer: gzipSync(source.buffer) };
      return { kind: 'stream', stream: pipeline(source.stream(), createGzip(), () => undefined), size: undefined };
    }
    if (source.buffer) return { kind: 'buffer', buffer: source.buffer };
    // A LocalFile: large ones go in parts read by range.
    const { path } = source;
    if (path !== undefined && source.replayable && source.size !== undefined) {
      return { kind: 'file', path, size: source.size, stream: () => source.stream() };
    }
    return { kind: 'stream', stream: source.stream(), size: source.size };
  }

  /** HEAD, its failures named after the caller's call (`exists`, `size`, `modifiedTime`). */
  private async head(name: string, operation: string): Promise<HeadObjectCommandOutput> {
    await this.ready();
    return this.call(operation, name, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) })));
  }

  /** With autoCreateBucket: make sure the bucket exists, once per storage. */
  private ready(): Promise<void> {
    if (!this.settings.autoCreateBucket) return Promise.resolve();
    this.bucketReady ??= this.createBucketIfMissing().catch((error: unknown) => {
      this.bucketReady = undefined;
      throw error;
    });
    return this.bucketReady;
  }

  private async createBucketIfMissing(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (s3StatusCode(error) !== 404 && s3ErrorCode(error) !== 'NotFound' && s3ErrorCode(error) !== 'NoSuchBucket') {
        throw mapS3Error(error, { bucket: this.bucket, operation: 'check bucket' });
      }
    }
    const region = await this.client.config.region();
    await this.call('create bucket', undefined, async () => {
      try {
        await this.client.send(
          new CreateBucketCommand({
            Bucket: this.bucket,
            ...(region !== DEFAULT_REGION && this.client.config.endpoint === undefined
              ? { CreateBucketConfiguration: { LocationConstraint: region as never } }
              : {}),
          }),
        );
      } catch (error) {
        // Another process created it meanwhile.
        if (s3ErrorCode(error) !== 'BucketAlreadyOwnedByYou') throw error;
      }
    });
  }

  /**
   * A body that fails mid-download (a server gone silent past readTimeout, a reset) fails with
   * typed errors, as a request does: the stream's destroy hook maps the error it is destroyed
   * with, so every reader (createReadStream's too) sees filefield's errors and not the SDK's.
   */
  private mapStreamErrors(body: Readable, operation: string, name: string): void {
    const destroy = body._destroy.bind(body);
    const context = { bucket: this.bucket, operation, name, key: this.key(name) };
    body._destroy = (error, callback) => destroy(error, (failure) => callback(failure ? (mapDownloadError(failure, context) as Error) : failure));
  }

  private async call<T>(operation: string, name: string | undefined, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw mapS3Error(error, { bucket: this.bucket, operation, name, key: name === undefined ? undefined : this.key(name) });
    }
  }
}

/** The identity of a storage whose client decides the endpoint: the endpoint and region it was given, where known. */
function clientIdentity(options: S3StorageOptions): string {
  if (options.client !== undefined) return 'client';
  const config = options.clientConfig ?? {};
  if (typeof config.endpoint === 'string') return parseEndpoint(config.endpoint).origin;
  const region = typeof config.region === 'string' ? config.region : (options.region ?? DEFAULT_REGION);
  return options.endpointUrl !== undefined ? parseEndpoint(options.endpointUrl).origin : `aws:${region}`;
}

/** `pending`, or a rejection as soon as `signal` fires (the work itself goes on for others). */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return pending;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** How many times the SDK sent the request that failed with `error` (it retries on its own). */
function sdkAttempts(error: unknown): number {
  return (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
}
