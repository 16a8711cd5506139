/**
 * How the built client reaches the server: an HTTP(S) proxy per endpoint scheme
 * (django-storages' AWS_S3_PROXIES, botocore's `proxies`) and TLS certificate verification
 * (AWS_S3_VERIFY: on, off, or a CA bundle). Checked here; applied to the agents in client.ts.
 */
import { ConfigurationError } from '@filefield/core';
import { readFileSync } from 'node:fs';

/** A proxy URL for requests to `http:` endpoints and one for `https:` endpoints, e.g. `{ https: 'http://proxy:3128' }`. */
export interface ProxyOptions {
  http?: string;
  https?: string;
}

export interface NetworkSettings {
  proxies: { http?: URL; https?: URL };
  /** TLS options for connections to the endpoint (and to an https proxy). */
  tls: { rejectUnauthorized?: false; ca?: Buffer };
}

export function networkSettings(options: { proxies?: ProxyOptions; verify?: boolean | string }): NetworkSettings {
  return { proxies: resolveProxies(options.proxies), tls: resolveVerify(options.verify) };
}

function resolveProxies(proxies: ProxyOptions | undefined): NetworkSettings['proxies'] {
  if (proxies === undefined) return {};
  if (proxies === null || typeof proxies !== 'object' || Array.isArray(proxies)) {
    throw new ConfigurationError("`proxies` (AWS_S3_PROXIES) must be an object such as { https: 'http://proxy.internal:3128' }.");
  }
  const resolved: NetworkSettings['proxies'] = {};
  for (const [scheme, value] of Object.entries(proxies)) {
    if (scheme !== 'http' && scheme !== 'https') {
      throw new ConfigurationError(`\`proxies\` (AWS_S3_PROXIES) takes the keys 'http' and 'https' (the endpoint's scheme), not '${scheme}'.`);
    }
    if (value === undefined) continue;
    resolved[scheme] = proxyUrl(scheme, value);
  }
  return resolved;
}

/**
 * A proxy URL; `host:port` means `http://host:port`, as in botocore. It may carry
 * `user:password@` (sent as Proxy-Authorization): no message shows any part of it.
 */
function proxyUrl(scheme: string, value: unknown): URL {
  const problem = `\`proxies.${scheme}\` (AWS_S3_PROXIES) must be a proxy URL such as http://proxy.internal:3128`;
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigurationError(`${problem}.`);
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new ConfigurationError(`${problem} (http:// or https://, a host and a port).`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    throw new ConfigurationError(`${problem}, without a path, query or fragment.`);
  }
  return url;
}

/** `true`/undefined: verify (Node's CA store); `false`: no verification; a path: trust the CAs in that PEM file. */
function resolveVerify(verify: boolean | string | undefined): NetworkSettings['tls'] {
  if (verify === undefined || verify === true) return {};
  if (verify === false) return { rejectUnauthorized: false };
  if (typeof verify !== 'string' || verify.trim() === '') {
    throw new ConfigurationError('`verify` (AWS_S3_VERIFY) must be true, false or the path of a CA bundle (PEM).');
  }
  let ca: Buffer;
  try {
    ca = readFileSync(verify);
  } catch (error) {
    throw new ConfigurationError(`\`verify\` (AWS_S3_VERIFY): cannot read the CA bundle '${verify}' (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigurationError(`\`verify\` (AWS_S3_VERIFY): '${verify}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  }
  return { ca };
}

/** A TLS certificate the client could not verify: a setting to fix, not an outage. */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** The certificate error code of a failed request (the SDK wraps the socket's error), if it is one. */
export function certificateErrorCode(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== 'object' || depth > 5) return undefined;
  const shape = error as { code?: unknown; cause?: unknown; message?: unknown };
  if (typeof shape.code === 'string' && CERTIFICATE_CODES.has(shape.code)) return shape.code;
  // An error from another realm (a Jest sandbox) may keep only its message.
  const message = typeof shape.message === 'string' ? shape.message : '';
  const found = [...CERTIFICATE_CODES].find((code) => message.includes(code));
  if (found !== undefined) return found;
  if (/self[- ]signed certificate|unable to verify the first certificate|unable to get local issuer certificate/i.test(message)) {
    return 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
  }
  return certificateErrorCode(shape.cause, depth + 1);
}

/** A certificate failure as a ConfigurationError that says what to set; undefined for other errors. */
export function certificateError(error: unknown, operation: string, bucket: string): ConfigurationError | undefined {
  const code = certificateErrorCode(error);
  if (code === undefined) return undefined;
  return new ConfigurationError(
    `S3 ${operation} on bucket '${bucket}' failed: the server's TLS certificate is not trusted (${code}). ` +
      'Set `verify` (AWS_S3_VERIFY) to the path of the CA bundle that signed it, or fix the endpoint (AWS_S3_ENDPOINT_URL).',
    { cause: error },
  );
}
