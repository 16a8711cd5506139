/**
 * Which real servers the test run can use. The Jest global setup probes them once; test files
 * call `describeWith('postgres', …)`, which runs the block when the server answered and skips it
 * with a message otherwise. Services named in FILEFIELD_REQUIRE (CI sets
 * `postgres,mariadb,radosgw,chromium`) must be available: the run fails instead of skipping.
 * `chromium` is a browser executable rather than a server: found when the file exists.
 *
 * Connection settings (defaults are the local servers of the development machine):
 *   FILEFIELD_POSTGRES_URL  postgres://postgres@127.0.0.1:5432/test
 *   FILEFIELD_MARIADB_URL   mariadb://root@127.0.0.1:3306/test
 *   FILEFIELD_S3_ENDPOINT, FILEFIELD_S3_ACCESS_KEY_ID, FILEFIELD_S3_SECRET_ACCESS_KEY,
 *   FILEFIELD_S3_REGION, FILEFIELD_S3_SERVER (a label, e.g. radosgw, minio, aws)
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

export type ServiceName = 'postgres' | 'mariadb' | 'radosgw' | 'chromium';

/** The browser the page tests drive (Debian's Chromium; FILEFIELD_CHROMIUM overrides the path). */
export const chromiumPath = process.env.FILEFIELD_CHROMIUM ?? '/usr/bin/chromium';

export const serviceUrls = {
  postgres: process.env.FILEFIELD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mariadb: process.env.FILEFIELD_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test',
};

/** The external S3 server given by FILEFIELD_S3_* variables, if any. */
export function externalS3(): { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string; server: string } | undefined {
  const endpoint = process.env.FILEFIELD_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    accessKeyId: process.env.FILEFIELD_S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.FILEFIELD_S3_SECRET_ACCESS_KEY ?? '',
    region: process.env.FILEFIELD_S3_REGION ?? 'us-east-1',
    server: process.env.FILEFIELD_S3_SERVER ?? 'external',
  };
}

export function requiredServices(): Set<string> {
  return new Set((process.env.FILEFIELD_REQUIRE ?? '').split(',').map((s) => s.trim()).filter(Boolean));
}

function tcpAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Probe every service; record the result in the environment the test workers inherit. */
export async function probeServices(): Promise<Record<ServiceName, boolean>> {
  const s3 = externalS3();
  const found: Record<ServiceName, boolean> = {
    postgres: await tcpAnswers(serviceUrls.postgres),
    mariadb: await tcpAnswers(serviceUrls.mariadb),
    radosgw: s3 !== undefined && (await tcpAnswers(s3.endpoint)),
    chromium: existsSync(chromiumPath),
  };
  for (const [name, ok] of Object.entries(found)) process.env[`FILEFIELD_HAS_${name.toUpperCase()}`] = ok ? '1' : '0';
  const missing = [...requiredServices()].filter((name) => !found[name as ServiceName]);
  if (missing.length > 0) {
    throw new Error(`Required test services are not reachable: ${missing.join(', ')} (FILEFIELD_REQUIRE=${process.env.FILEFIELD_REQUIRE}).`);
  }
  return found;
}

export function serviceAvailable(name: ServiceName): boolean {
  return process.env[`FILEFIELD_HAS_${name.toUpperCase()}`] === '1';
}

/** `describe` when the service is reachable; a visible skip otherwise (a failure if required). */
export function describeWith(name: ServiceName, title: string, body: () => void): void {
  if (serviceAvailable(name)) {
    describe(title, body);
    return;
  }
  if (requiredServices().has(name)) {
    throw new Error(`${title}: ${name} is required (FILEFIELD_REQUIRE) but not reachable.`);
  }
  // CI lists every server in FILEFIELD_REQUIRE, which turns this skip into the error above.
  describe.skip(`${title} [skipped: ${name} not reachable; see test-support/services.ts]`, body); // reason: no such server on this machine (a laptop)
}
