/**
 * Counts an S3Client's HTTP requests in flight, by kind (from method and query: UploadPart,
 * PutObject, ...), by wrapping its request handler as recordRequests does. A request is in
 * flight from the moment the handler gets it until its response (or failure) comes back.
 */
import type { S3Client } from '@aws-sdk/client-s3';

interface HandlerLike {
  handle(request: { method: string; query?: Record<string, unknown> }, options?: unknown): Promise<unknown>;
}

export interface InFlightCounter {
  /** Requests of `kind` in flight now. */
  now(kind: string): number;
  /** The most requests of `kind` that were in flight at once. */
  max(kind: string): number;
}

function kindOf(request: { method: string; query?: Record<string, unknown> }): string {
  const query = request.query ?? {};
  if (request.method === 'PUT' && 'partNumber' in query) return 'UploadPart';
  if (request.method === 'POST' && 'uploads' in query) return 'CreateMultipartUpload';
  if (request.method === 'POST' && 'uploadId' in query) return 'CompleteMultipartUpload';
  if (request.method === 'DELETE' && 'uploadId' in query) return 'AbortMultipartUpload';
  return request.method;
}

export function countInFlight(client: S3Client): InFlightCounter {
  const handler = client.config.requestHandler as unknown as HandlerLike;
  const original = handler.handle;
  const current = new Map<string, number>();
  const peak = new Map<string, number>();
  handler.handle = async function counting(this: HandlerLike, request, options) {
    const kind = kindOf(request);
    const now = (current.get(kind) ?? 0) + 1;
    current.set(kind, now);
    peak.set(kind, Math.max(peak.get(kind) ?? 0, now));
    try {
      return await original.call(this, request, options);
    } finally {
      current.set(kind, (current.get(kind) ?? 1) - 1);
    }
  };
  return { now: (kind) => current.get(kind) ?? 0, max: (kind) => peak.get(kind) ?? 0 };
}
