/**
 * Direct uploads: a browser sends the bytes to the storage itself (an S3 presigned POST), and
 * the application only hands out where and how. The types of `Storage.createUploadTarget`, an
 * optional capability (see its rules in storage.ts); `@filefield/web` checks for it.
 */

/** What the application allows for one direct upload. */
export interface UploadTargetOptions {
  /** The largest body in bytes the storage accepts for it (it refuses a larger one itself). */
  maxSize: number;
  /** The smallest body in bytes (default 1: an empty file is refused). */
  minSize?: number;
  /** The Content-Type the upload must declare; omitted: any. */
  contentType?: string;
  /** Seconds the target stays usable. */
  expiresIn: number;
}

/** An HTML form POST to the storage: send `fields` first, then the file as `fileField`. */
export interface UploadTarget {
  method: 'POST';
  url: string;
  /** Form fields to send as they are, before the file (order matters to S3: `key` and the policy first). */
  fields: Record<string, string>;
  /** The name of the form field that carries the file (S3: `file`, and it must be the last field). */
  fileField: string;
  /** When the storage stops accepting it. */
  expiresAt: Date;
}
