/**
 * `clientConfig` (django-storages' AWS_S3_CLIENT_CONFIG, a botocore `Config` there): more
 * `S3ClientConfig` for the client the storage builds. Every setting has one source: a key that a
 * filefield option also sets is refused when both are given. Otherwise the `clientConfig` value
 * wins over the driver's default for that key (`region`, `forcePathStyle`, `requestHandler`, ...).
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@filefield/core';
import type { S3StorageOptions } from './options';

/** The SDK settings each filefield option decides. */
const OWNERS: Partial<Record<keyof S3ClientConfig, ReadonlyArray<keyof S3StorageOptions>>> = {
  region: ['region'],
  endpoint: ['endpointUrl'],
  credentials: ['credentials', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'sessionProfile'],
  forcePathStyle: ['addressingStyle'],
  tls: ['useSsl'],
  requestChecksumCalculation: ['requestChecksumCalculation'],
  responseChecksumValidation: ['requestChecksumCalculation'],
  httpAuthSchemes: ['signatureVersion'],
  httpAuthSchemeProvider: ['signatureVersion'],
  requestHandler: ['connectTimeout', 'readTimeout', 'maxPoolConnections', 'proxies', 'verify'],
};

export function checkClientConfig(options: S3StorageOptions): void {
  const config: unknown = options.clientConfig;
  if (config === undefined) return;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigurationError('`clientConfig` (AWS_S3_CLIENT_CONFIG) must be an S3ClientConfig object, e.g. { maxAttempts: 5 }.');
  }
  for (const key of Object.keys(config) as Array<keyof S3ClientConfig>) {
    const owners = OWNERS[key]?.filter((option) => options[option] !== undefined) ?? [];
    if (owners.length > 0) {
      throw new ConfigurationError(
        `\`clientConfig.${String(key)}\` (AWS_S3_CLIENT_CONFIG) and ${owners.map((owner) => `\`${owner}\``).join(', ')} set the same thing; keep one of them.`,
      );
    }
  }
}

/**
 * Whether `clientConfig` is given: any of its keys may move the endpoint (region, endpoint,
 * addressing, dual-stack, FIPS, acceleration, an endpoint provider), so the bucket's URL is then
 * asked of the built client (once) instead of computed from the options.
 */
export function clientConfigMovesEndpoint(config: S3ClientConfig | undefined): boolean {
  return config !== undefined && Object.keys(config).length > 0;
}
