export { S3Storage } from './s3-storage';
export { BucketNotFoundError } from './errors';
export { ENVIRONMENT_VARIABLES, fromEnv } from './from-env';
export type { Capabilities, Support } from './capabilities';
export type { CloudFrontPolicy } from './cloudfront';
export type { ProxyOptions } from './network';
export type { S3UrlOptions } from './urls';
export type { TransferOptions } from './transfer';
export {
  DEFAULT_GZIP_CONTENT_TYPES,
  type AddressingStyle,
  type Encryption,
  type ObjectParameters,
  type S3StorageOptions,
  type SignatureVersion,
} from './options';
