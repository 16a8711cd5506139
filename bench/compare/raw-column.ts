/**
 * bench/compare, the raw SDK column: what a hand-written integration with @aws-sdk/client-s3 and
 * @aws-sdk/lib-storage does for the five steps, with no database. Run by run.ts
 * (BENCH_COLUMN holds the configuration); prints one JSON line.
 */
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { recordRequests } from '@filefield/s3/testing';
import { createHash, randomInt } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type StepResult, columnConfig, emit, fail, step } from './shared';

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

  const pipeline = async (tag: string, saves: number, file: string, sha256: string): Promise<StepResult[]> => {
    const payload = Buffer.alloc(config.smallBytes, 0x61);
    const names: string[] = [];
    const results: StepResult[] = [];
    results.push(
      await step('same-name', log, async () => {
        for (let i = 0; i < saves; i += 1) names.push(await saveUnique(`${tag}same.txt`, payload));
      }),
    );
    results.push(
      await step('distinct', log, async () => {
        for (let i = 0; i < saves; i += 1) {
          await put(`${tag}doc-${i}.txt`, payload);
          names.push(`${tag}doc-${i}.txt`);
        }
      }),
    );
    const big = `${tag}big.bin`;
    results.push(
      await step('upload', log, async () => {
        // lib-storage's defaults (5 MiB parts, 4 in flight): what `new Upload()` gives everyone.
        const params = { Bucket, Key: key(big), Body: createReadStream(file), ContentType: 'application/octet-stream' };
        await new Upload({ client, params }).done();
        names.push(big);
      }),
    );
    results.push(
      await step('read', log, async () => {
        const response = await client.send(new GetObjectCommand({ Bucket, Key: key(big) }));
        const hash = createHash('sha256');
        // The body's own chunks (about 64 KiB): re-cutting them into 1 MiB would only add copies.
        for await (const chunk of response.Body as Readable) hash.update(chunk as Buffer);
        if (hash.digest('hex') !== sha256) throw new Error(`raw: ${big} read back with another sha256`);
      }),
    );
    results.push(
      await step('delete', log, async () => {
        for (let start = 0; start < names.length; start += 1000) {
          const Objects = names.slice(start, start + 1000).map((name) => ({ Key: key(name) }));
          const answer = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } }));
          if (answer.Errors?.length) throw new Error(`raw: DeleteObjects failed for ${answer.Errors.length} keys`);
        }
      }),
    );
    return results;
  };

  await pipeline('warm-', config.warmSaves, config.warmFile, config.warmSha256);
  const steps = await pipeline('', config.saves, config.bigFile, config.bigSha256);
  client.destroy();
  emit({ column: 'raw', steps });
}

main().catch(fail);
