/**
 * bench/web: the memory a streaming multipart upload costs the app. A 200 MiB file (BENCH_MIB)
 * is POSTed as multipart/form-data to a server process (upload-server.ts) that takes it with
 * receiveMultipart into the filesystem driver, into s3rver, and into the FILEFIELD_S3_* server
 * when one is set (radosgw: `eval "$(bash .ci/radosgw.sh start)"`). Reported: that process's
 * peak RSS growth over its baseline, sampled every 5 ms, and the time. A bench, not a test: no
 * assertion, numbers for the README.
 *
 *   npm run bench:web
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startS3rver } from '@filefield/s3/testing';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';

// The SDK's once-per-process notice that Node 20 loses support in 2027 (the children inherit this).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
const BYTES = Number(process.env.BENCH_MIB ?? 200) * MiB;
const CHUNK = 64 * 1024;

async function startUploadServer(target: object): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--expose-gc', join(__dirname, 'upload-server.js')], {
    env: { ...process.env, BENCH_TARGET: JSON.stringify(target) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return {
    port: Number(line),
    stop: async () => {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** POST a multipart body of BYTES bytes, produced 64 KiB at a time as a browser sends it. */
async function upload(port: number): Promise<{ seconds: number; size: number }> {
  const boundary = 'benchboundary0123456789';
  const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="big.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = randomFillSync(Buffer.alloc(CHUNK));
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/upload', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + BYTES + tail.length } });
  const response = new Promise<string>((resolve, reject) => {
    req.on('response', async (res) => {
      let body = '';
      for await (const part of res) body += part;
      if (res.statusCode !== 200) reject(new Error(`upload answered ${res.statusCode}: ${body}`));
      else resolve(body);
    });
    req.on('error', reject);
  });
  req.write(head);
  for (let sent = 0; sent < BYTES; sent += CHUNK) {
    if (!req.write(chunk.subarray(0, Math.min(CHUNK, BYTES - sent)))) await once(req, 'drain');
  }
  req.end(tail);
  return JSON.parse(await response);
}

async function get(port: number, path: string, method = 'GET'): Promise<any> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return response.json();
}

async function measure(label: string, target: object, cleanup: (name: string) => Promise<void>): Promise<string> {
  const server = await startUploadServer(target);
  try {
    await get(server.port, '/reset', 'POST');
    const result = await upload(server.port);
    const { baseline, peak } = await get(server.port, '/stats');
    await cleanup(result && (result as any).name);
    if (result.size !== BYTES) throw new Error(`${label}: stored ${result.size} bytes, sent ${BYTES}`);
    const growth = (peak - baseline) / MiB;
    return `| ${label} | ${BYTES / MiB} MiB | ${(baseline / MiB).toFixed(0)} MiB | ${growth.toFixed(1)} MiB | ${result.seconds.toFixed(2)} s | ${(BYTES / MiB / result.seconds).toFixed(0)} MiB/s |`;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const rows: string[] = [];
  const location = await mkdtemp(join(tmpdir(), 'filefield-bench-web-'));
  try {
    rows.push(await measure('filesystem', { kind: 'filesystem', location }, async () => rm(location, { recursive: true, force: true })));
  } finally {
    await rm(location, { recursive: true, force: true });
  }
  const s3 = await startS3rver();
  try {
    const options = s3.storageOptions({ location: 'bench' });
    rows.push(await measure('s3rver (8 MiB parts × 4)', { kind: 's3', options }, async (name) => {
      const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
      await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `bench/${name}` }));
    }));
  } finally {
    await s3.stop();
  }
  const endpoint = process.env.FILEFIELD_S3_ENDPOINT;
  if (endpoint) {
    const credentials = { accessKeyId: process.env.FILEFIELD_S3_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.FILEFIELD_S3_SECRET_ACCESS_KEY ?? '' };
    const region = process.env.FILEFIELD_S3_REGION ?? 'us-east-1';
    const bucket = `filefield-bench-web-${Date.now()}`;
    const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      const options = { bucket, endpointUrl: endpoint, region, ...credentials, addressingStyle: 'path', requestChecksumCalculation: 'WHEN_REQUIRED' };
      rows.push(await measure(`${process.env.FILEFIELD_S3_SERVER ?? 'external S3'} (8 MiB parts × 4)`, { kind: 's3', options }, async (name) => {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: name }));
      }));
    } finally {
      await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      client.destroy();
    }
  }
  console.log('| storage | upload | server RSS before | peak RSS growth | time | throughput |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
