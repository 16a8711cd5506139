/**
 * bench/compare, the raw SDK column: what a hand-written integration with @aws-sdk/client-s3,
 * @aws-sdk/lib-storage and the same ORM does, the file's key in a plain varchar column of a
 * TypeORM entity on SQLite (in memory), as filefield's and Django's columns keep theirs. Run by
 * run.ts (BENCH_COLUMN holds the configuration); prints one JSON line.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { recordRequests } from '@filefield/s3/testing';
import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Column, DataSource, Entity, In, Like, PrimaryGeneratedColumn } from 'typeorm';
import { type StepResult, columnConfig, emit, fail, step } from './shared';

@Entity('doc')
class Doc {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 255 }) file!: string;
}

/** A custom-domain URL by hand: the key's path segments percent-encoded. */
function customUrl(domain: string, key: string): string {
  return `https://${domain}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** `same.txt` → `same_<7 random characters>.txt`, as Django's get_alternative_name. */
function alternative(name: string): string {
  const dot = name.lastIndexOf('.');
  const suffix = Array.from({ length: 7 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
  return dot > 0 ? `${name.slice(0, dot)}_${suffix}${name.slice(dot)}` : `${name}_${suffix}`;
}

function status(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

async function main(): Promise<void> {
  const config = columnConfig();
  // What a hand-written integration has to configure for an S3-compatible server anyway.
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const log = recordRequests(client);
  const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [Doc], synchronize: true });
  await dataSource.initialize();
  const repository = dataSource.getRepository(Doc);
  const insert = (file: string) => repository.save(Object.assign(new Doc(), { file }));
  const Bucket = config.bucket;
  const key = (name: string) => `${config.prefix}/${name}`;
  const put = (name: string, body: Buffer, IfNoneMatch?: string) =>
    client.send(new PutObjectCommand({ Bucket, Key: key(name), Body: body, ContentType: 'text/plain', IfNoneMatch }));

  const exists = async (name: string): Promise<boolean> => {
    try {
      await client.send(new HeadObjectCommand({ Bucket, Key: key(name) }));
      return true;
    } catch (error) {
      if (status(error) === 404) return false;
      throw error;
    }
  };

  /**
   * The cheapest safe renaming by hand: a conditional PUT per candidate where the server honours
   * If-None-Match, else Django's way (HEAD each candidate, then PUT), which s3rver needs.
   */
  const saveUnique = async (name: string, body: Buffer): Promise<string> => {
    for (let candidate = name; ; candidate = alternative(name)) {
      if (config.conditionalWrites) {
        try {
          await put(candidate, body, '*');
          return candidate;
        } catch (error) {
          if (status(error) !== 412 && status(error) !== 409) throw error;
        }
      } else if (!(await exists(candidate))) {
        await put(candidate, body);
        return candidate;
      }
    }
  };

  const pipeline = async (tag: string, saves: number, file: string, sha256: string, orphans: string): Promise<StepResult[]> => {
    const payload = Buffer.alloc(config.smallBytes, 0x61);
    const results: StepResult[] = [];
    results.push(
      await step('same-name', log, async () => {
        for (let i = 0; i < saves; i += 1) await insert(await saveUnique(`${tag}same.txt`, payload));
      }),
    );
    results.push(
      await step('distinct', log, async () => {
        for (let i = 0; i < saves; i += 1) {
          await put(`${tag}doc-${i}.txt`, payload);
          await insert(`${tag}doc-${i}.txt`);
        }
      }),
    );
    results.push(
      await step('distinct-safe', log, async () => {
        for (let i = 0; i < saves; i += 1) await insert(await saveUnique(`${tag}safe-${i}.txt`, payload));
      }),
    );
    // Not measured: step 5 deletes the files of steps 1 to 3, as it did before this step existed.
    const safeRows = await repository.find({ where: { file: Like(`${tag}safe-%`) } });
    await repository.remove(safeRows);
    await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: safeRows.map((row) => ({ Key: key(row.file) })), Quiet: true } }));
    const big = `${tag}big.bin`;
    let bigId = 0;
    results.push(
      await step('upload', log, async () => {
        // lib-storage's defaults (5 MiB parts, 4 in flight): what `new Upload()` gives everyone.
        const params = { Bucket, Key: key(big), Body: createReadStream(file), ContentType: 'application/octet-stream' };
        await new Upload({ client, params }).done();
        bigId = (await insert(big)).id;
      }),
    );
    results.push(
      await step('read', log, async () => {
        const row = await repository.findOneByOrFail({ id: bigId });
        const response = await client.send(new GetObjectCommand({ Bucket, Key: key(row.file) }));
        const hash = createHash('sha256');
        // The body's own chunks (about 64 KiB): re-cutting them into 1 MiB would only add copies.
        for await (const chunk of response.Body as Readable) hash.update(chunk as Buffer);
        if (hash.digest('hex') !== sha256) throw new Error(`raw: ${big} read back with another sha256`);
      }),
    );
    // Steps 7 and 8 sign the rows of step 2 (they are deleted in step 5).
    const signed = (await repository.find({ where: { file: In(Array.from({ length: saves }, (_, i) => `${tag}doc-${i}.txt`)) } })).map((row) => row.file);
    results.push(
      await step('delete', log, async () => {
        const rows = await repository.find();
        await repository.remove(rows);
        const names = rows.map((row) => row.file);
        for (let start = 0; start < names.length; start += 1000) {
          const Objects = names.slice(start, start + 1000).map((name) => ({ Key: key(name) }));
          const answer = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
          if (answer.Errors?.length) throw new Error(`raw: DeleteObjects failed for ${answer.Errors.length} keys`);
        }
      }),
    );
    results.push(
      await step('orphans', log, async () => {
        // List a page, drop the keys a row names, delete the rest: one page at a time.
        let ContinuationToken: string | undefined;
        do {
          const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: `${key(orphans)}/`, ContinuationToken }));
          ContinuationToken = page.NextContinuationToken;
          const names = (page.Contents ?? []).map((object) => object.Key!.slice(config.prefix.length + 1));
          if (names.length === 0) continue;
          const named = new Set((await repository.find({ where: { file: In(names) } })).map((row) => row.file));
          const Objects = names.filter((name) => !named.has(name)).map((name) => ({ Key: key(name) }));
          if (Objects.length === 0) continue;
          const answer = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
          if (answer.Errors?.length) throw new Error(`raw: DeleteObjects failed for ${answer.Errors.length} keys`);
        } while (ContinuationToken);
      }),
    );
    results.push(
      await step('url-presigned', log, async () => {
        for (let i = 0; i < config.urlCalls; i += 1) {
          await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: key(signed[i % signed.length]) }), { expiresIn: 3600 });
        }
      }),
    );
    results.push(
      await step('url-custom', log, async () => {
        for (let i = 0; i < config.urlCalls; i += 1) customUrl(config.customDomain, key(signed[i % signed.length]));
      }),
    );
    return results;
  };

  await pipeline('warm-', config.warmSaves, config.warmFile, config.warmSha256, 'warm-orphans');
  const steps = await pipeline('', config.saves, config.bigFile, config.bigSha256, 'orphans');
  await dataSource.destroy();
  client.destroy();
  emit({ column: 'raw', steps });
}

main().catch(fail);
