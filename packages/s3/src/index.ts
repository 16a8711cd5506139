export { S3Storage } from './s3-storage';
export { BucketNotFoundError } from './errors';
export { ENVIRONMENT_VARIABLES, fromEnv } from './from-env';
export {
  DEFAULT_GZIP_CONTENT_TYPES,
  type AddressingStyle,
  type Encryption,
  type ObjectParameters,
  type S3StorageOptions,
  type SignatureVersion,
} from './options';
