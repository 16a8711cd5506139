/**
 * Builds the SDK client from the storage options: region, endpoint, SSL, addressing style,
 * credentials, checksum policy and signature version. An injected client is used as is.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { parseEndpoint, type S3StorageOptions } from './options';
import { sigV2AuthSchemes } from './signature-v2';

export const DEFAULT_REGION = 'us-east-1';

export function buildClient(options: S3StorageOptions): S3Client {
  const endpoint = options.endpointUrl === undefined ? undefined : parseEndpoint(options.endpointUrl);
  const addressingStyle = options.addressingStyle ?? (endpoint ? 'path' : 'auto');
  const config: S3ClientConfig = {
    region: options.region ?? DEFAULT_REGION,
    // Without an explicit region, follow S3's redirect to the bucket's real region (boto3 does too).
    followRegionRedirects: options.region === undefined && endpoint === undefined,
    forcePathStyle: addressingStyle === 'path',
  };
  if (endpoint) {
    // The endpoint's scheme decides http/https; `useSsl` only applies to AWS endpoints (as in the seed).
    config.endpoint = endpoint.href.replace(/\/$/, '');
  } else if (options.useSsl === false) {
    config.tls = false;
  }
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    };
  } else if (options.credentials !== undefined) {
    config.credentials = options.credentials;
  }
  // S3-compatible servers (radosgw, s3rver, older MinIO) reject the aws-chunked bodies with
  // trailing checksums the SDK sends by default since 3.729 (radosgw answers 411).
  const checksums = options.requestChecksumCalculation ?? (endpoint ? 'WHEN_REQUIRED' : undefined);
  if (checksums !== undefined) {
    config.requestChecksumCalculation = checksums;
    config.responseChecksumValidation = checksums;
  }
  if (options.signatureVersion === 's3') {
    config.httpAuthSchemes = sigV2AuthSchemes(options.bucket);
  }
  return new S3Client(config);
}
