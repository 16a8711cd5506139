/** A storage described so that a crash-test child process can build it again. */
import { FileSystemStorage, type Storage } from '@filefield/core';
import { S3Storage, type S3StorageOptions } from '@filefield/s3';

export type StorageSpec = { kind: 'filesystem'; location: string } | { kind: 's3'; options: S3StorageOptions };

export function buildStorage(spec: StorageSpec): Storage {
  return spec.kind === 'filesystem' ? new FileSystemStorage({ location: spec.location }) : new S3Storage(spec.options);
}
