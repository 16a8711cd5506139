import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@filefield/core';

export function sigV2AuthSchemes(): NonNullable<S3ClientConfig['httpAuthSchemes']> {
  throw new ConfigurationError("signatureVersion 's3' (SigV2) is not available yet; use 's3v4'.");
}
