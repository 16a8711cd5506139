/**
 * Records the HTTP requests an S3Client sends (after signing, one entry per attempt), by
 * wrapping its request handler. For tests that count requests or check the headers sent.
 */
import type { S3Client } from '@aws-sdk/client-s3';

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface RequestLog {
  readonly requests: LoggedRequest[];
  /** Requests recorded since the last `reset()`. */
  readonly count: number;
  reset(): void;
  /** Stop recording (puts the original handler back). */
  restore(): void;
}

interface HandlerLike {
  handle(request: LoggedRequest, options?: unknown): Promise<unknown>;
}

export function recordRequests(client: S3Client): RequestLog {
  const handler = client.config.requestHandler as unknown as HandlerLike;
  const original = handler.handle;
  const requests: LoggedRequest[] = [];
  handler.handle = function recording(this: HandlerLike, request: LoggedRequest, options?: unknown) {
    requests.push({ method: request.method, path: request.path, query: { ...request.query }, headers: { ...request.headers } });
    return original.call(this, request, options);
  };
  return {
    requests,
    get count() {
      return requests.length;
    },
    reset() {
      requests.length = 0;
    },
    restore() {
      handler.handle = original;
    },
  };
}
