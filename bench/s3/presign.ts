/**
 * bench/s3/presign: the cost of one `url()` of the S3 storage, against the SDK's getSignedUrl
 * and its SigV4 signer alone, on this machine. No server: signing sends no request.
 *
 *   npm run bench:presign          (tsc -b bench/s3 && node bench/s3/dist/presign.js)
 *
 * Each row is BENCH_CALLS (10,000) sequential awaited calls, each for a different key, after a
 * warm-up of BENCH_WARMUP (2,000) calls; rounds of all rows alternate, and the table gives the
 * median round (BENCH_ROUNDS, 5), in µs per call of wall-clock and of CPU time. Two storages:
 * a path-style endpoint as for radosgw or MinIO, and AWS virtual-hosted addressing in eu-west-1
 * (which also signs the SDK's x-amz-checksum-mode parameter). Static credentials: the SDK
 * provider returns them cached.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest } from '@smithy/types';

const CALLS = Number(process.env.BENCH_CALLS ?? 10_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const CREDENTIALS = { accessKeyId: 'AKIAFILEFIELDBENCH', secretAccessKey: 'bench-secret-key-not-used-for-anything' };

interface Target {
  label: string;
  options: S3StorageOptions;
}

const TARGETS: Target[] = [
  { label: 'path-style endpoint', options: { bucket: 'media', endpointUrl: 'http://127.0.0.1:7480', location: 'uploads', ...CREDENTIALS } },
  { label: 'AWS virtual-hosted (eu-west-1)', options: { bucket: 'media-bucket', region: 'eu-west-1', location: 'uploads', ...CREDENTIALS } },
];

type Call = (i: number) => Promise<unknown>;

interface Sample {
  wall: number;
  cpu: number;
}

/**
 * Microseconds per call over `CALLS` calls: wall-clock, and CPU time of this process (all its
 * threads, GC included), which other work on a shared machine inflates far less.
 */
async function measure(call: Call): Promise<Sample> {
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) await call(i);
  const wall = Number(process.hrtime.bigint() - start) / 1000 / CALLS;
  const cpu = process.cpuUsage(cpuStart);
  return { wall, cpu: (cpu.user + cpu.system) / CALLS };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const name = (i: number) => `reports/q3 report ${i}.pdf`;

/** The request getSignedUrl's presigner signs for GetObject on this storage's client. */
async function signerAlone(storage: S3Storage): Promise<Call> {
  const client: S3Client = storage.client;
  const signed = new URL(await storage.url('probe.txt'));
  const scope = decodeURIComponent(signed.searchParams.get('X-Amz-Credential') ?? '').split('/');
  const region = scope[2];
  const signer = new SignatureV4({
    credentials: () => client.config.credentials() as Promise<AwsCredentialIdentity>,
    region,
    service: 's3',
    sha256: client.config.sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const basePath = signed.pathname.slice(0, -'probe.txt'.length);
  // AWS endpoints: the SDK asks for response checksums, a signed x-amz-checksum-mode parameter.
  const checksumMode: Record<string, string> = signed.searchParams.has('x-amz-checksum-mode') ? { 'x-amz-checksum-mode': 'ENABLED' } : {};
  const unsignableHeaders = new Set(['content-type']);
  return (i) => {
    const request: HttpRequest = {
      method: 'GET',
      protocol: signed.protocol,
      hostname: signed.hostname,
      port: signed.port ? Number(signed.port) : undefined,
      path: `${basePath}reports/q3%20report%20${i}.pdf`,
      query: { 'x-id': 'GetObject' },
      headers: { ...checksumMode, host: signed.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
    };
    return signer.presign(request, { expiresIn: 3600, unsignableHeaders, unhoistableHeaders: new Set() });
  };
}

async function rows(target: Target): Promise<Array<[string, Call]>> {
  const presigned = new S3Storage(target.options);
  const customDomain = new S3Storage({ ...target.options, customDomain: 'cdn.example.com' });
  return [
    [
      'getSignedUrl (GetObjectCommand through the middleware stack)',
      (i) => getSignedUrl(presigned.client, new GetObjectCommand({ Bucket: presigned.bucket, Key: presigned.key(name(i)) }), { expiresIn: 3600 }),
    ],
    ['SDK signer alone (SignatureV4.presign on a built request)', await signerAlone(presigned)],
    ['storage url(), presigned (fast path)', (i) => presigned.url(name(i))],
    ['storage url(), customDomain (unsigned)', (i) => customDomain.url(name(i))],
  ];
}

async function main(): Promise<void> {
  const perTarget = await Promise.all(TARGETS.map(rows));
  const results = perTarget.map((targetRows) => targetRows.map(() => [] as Sample[]));
  for (const targetRows of perTarget) for (const [, call] of targetRows) for (let i = 0; i < WARMUP; i += 1) await call(i);
  // Rounds alternate the rows, so that a burst of other work on the machine does not hit one row only.
  for (let round = 0; round < ROUNDS; round += 1) {
    for (let t = 0; t < perTarget.length; t += 1) {
      for (let r = 0; r < perTarget[t].length; r += 1) results[t][r].push(await measure(perTarget[t][r][1]));
    }
  }
  const cell = (samples: Sample[]) => `${median(samples.map((sample) => sample.wall)).toFixed(1)} | ${median(samples.map((sample) => sample.cpu)).toFixed(1)}`;
  const lines = [
    `Presigned URL cost on this machine; Node ${process.version}; µs per call (wall-clock | CPU of this process), ` +
      `${CALLS.toLocaleString('en')} calls per round after ${WARMUP.toLocaleString('en')} warm-up calls, median of ${ROUNDS} rounds`,
    '',
    `| call | ${TARGETS.map((target) => `${target.label}: wall | CPU`).join(' | ')} |`,
    `|---|${TARGETS.map(() => '---:|---:').join('|')}|`,
    ...perTarget[0].map(([label], r) => `| ${label} | ${results.map((target) => cell(target[r])).join(' | ')} |`),
  ];
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
