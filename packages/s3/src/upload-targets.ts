/**
 * Direct uploads to S3: a presigned POST (an HTML form POST to the bucket, signed with a policy)
 * for one key. The policy makes S3 itself refuse a body outside the size range
 * (`content-length-range`) and, when asked, another Content-Type; the upload carries the
 * storage's ACL and server-side encryption as an ordinary save would, so a bucket policy that
 * demands them accepts it. Signed by `@aws-sdk/s3-presigned-post` with the storage's client.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { ConfigurationError, type UploadTarget, type UploadTargetOptions } from '@filefield/core';

/** The headers of an ordinary upload that a form must carry too (`acl`, SSE). */
export interface PostFields {
  acl?: string;
  encryption?: string;
  kmsKeyId?: string;
}

/** The longest a presigned POST may live: SigV4's limit of seven days. */
const MAX_EXPIRES_IN = 7 * 24 * 3600;

export async function presignedPost(client: S3Client, bucket: string, key: string, options: UploadTargetOptions, headers: PostFields): Promise<UploadTarget> {
  const { maxSize, minSize = 1, contentType, expiresIn } = options;
  if (!Number.isSafeInteger(maxSize) || !Number.isSafeInteger(minSize) || minSize < 0 || maxSize < minSize) {
    throw new ConfigurationError(`createUploadTarget: sizes must be integers with 0 <= minSize <= maxSize (got ${minSize} and ${maxSize}).`);
  }
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
    throw new ConfigurationError(`createUploadTarget: expiresIn must be 1..${MAX_EXPIRES_IN} seconds (got ${expiresIn}).`);
  }
  const fields: Record<string, string> = {};
  if (contentType !== undefined) fields['Content-Type'] = contentType;
  if (headers.acl !== undefined) fields.acl = headers.acl;
  if (headers.encryption !== undefined) fields['x-amz-server-side-encryption'] = headers.encryption;
  if (headers.kmsKeyId !== undefined) fields['x-amz-server-side-encryption-aws-kms-key-id'] = headers.kmsKeyId;
  const started = Date.now();
  // The package is built against its own pinned copy of the SDK's client type; it only reads `config`.
  const post = await createPresignedPost(client as never, {
    Bucket: bucket,
    Key: key,
    // Every field is also an exact-match condition (the package adds them), so none can be changed.
    Conditions: [['content-length-range', minSize, maxSize]],
    Fields: fields,
    Expires: expiresIn,
  });
  return { method: 'POST', url: post.url, fields: post.fields, fileField: 'file', expiresAt: new Date(started + expiresIn * 1000) };
}
