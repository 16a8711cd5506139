/**
 * Any error of an upload or a download as the HTTP answer a handler sends: a status and a small
 * JSON body `{ error: { code, message, field? } }`. Refusals the client can act on (validation,
 * a bad token, a missing file, an unsafe name) keep their message; anything else is a 500 whose
 * body says nothing of the cause (a storage key, an endpoint, a stack), which is the server's to log.
 */
import type { ServerResponse } from 'node:http';
import { FileNotFoundError, OperationAbortedError, SuspiciousFileOperation } from '@filefield/core';
import { FileValidationError, UploadTokenError } from './errors';

export interface HttpErrorBody {
  error: { code: string; message: string; field?: string };
}

export function httpError(error: unknown): { status: number; body: HttpErrorBody } {
  if (error instanceof FileValidationError || error instanceof UploadTokenError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) } } };
  }
  // The file's name is not repeated: it may be a key the client never saw.
  if (error instanceof FileNotFoundError) return { status: 404, body: { error: { code: error.code, message: 'The file does not exist.' } } };
  if (error instanceof SuspiciousFileOperation) return { status: 400, body: { error: { code: error.code, message: 'The file name is not allowed.' } } };
  if (error instanceof OperationAbortedError) return { status: 400, body: { error: { code: error.code, message: 'The upload was aborted.' } } };
  return { status: 500, body: { error: { code: 'E_INTERNAL', message: 'The server could not handle the file.' } } };
}

/** Answer with `httpError(error)`; the connection is closed after it, as the rest of a refused body is not worth reading. */
export function sendError(res: ServerResponse, error: unknown): void {
  const { status, body } = httpError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), connection: 'close' });
  res.end(json);
}
