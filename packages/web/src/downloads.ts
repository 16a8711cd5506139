/**
 * Download responses for a stored file, on Node's ServerResponse (Express's `res` is one):
 *
 * - `sendFile`: streams it with Content-Length, Content-Type (from the name), a safe
 *   Content-Disposition (`content-disposition`: an ASCII fallback and the RFC 5987 `filename*`
 *   for other names), single `Range` requests (206, 416; ranged reads, nothing before the range
 *   is read), and an ETag / Last-Modified with `If-None-Match` (304) and `If-Range`;
 * - `redirectToFile`: a redirect to `storage.url(name)` (presigned for a private S3 bucket), so
 *   the bytes do not pass through the app.
 *
 * A missing file is a 404 with a typed error body; any other failure a 500 that says nothing of
 * the storage (see http-errors.ts). The ETag comes from the size and modification time the
 * storage reports (as `serve-static` makes it), so it changes when the file is replaced.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { FieldFile, FileNotFoundError, NoFileError, type Storage, splitName } from '@filefield/core';
import contentDisposition from 'content-disposition';
import { lookup as mimeLookup } from 'mime-types';
import parseRange from 'range-parser';
import { sendError } from './http-errors';

/** A FieldFile, or a name in a storage. */
export type Downloadable = FieldFile | { storage: Storage; name: string };

export interface SendFileOptions {
  /** `attachment` (the default: saved, never rendered by the app's origin) or `inline`. */
  disposition?: 'attachment' | 'inline';
  /** The name the browser saves it as (default: the stored name's last part). */
  filename?: string;
  /** Default: from the name's extension, else application/octet-stream. */
  contentType?: string;
  /** Default `private, no-cache`: revalidated with the ETag each time. */
  cacheControl?: string;
}

export interface RedirectOptions {
  /** 302 (default), 303 or 307. */
  status?: 302 | 303 | 307;
  /** Check the file exists first, answering 404 instead of a redirect to a missing object (default true). */
  checkExists?: boolean;
}

/**
 * Types a browser would run as a page if shown inline from the app's origin (stored XSS): served
 * as attachments whatever `disposition` says.
 */
const ACTIVE_TYPES = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/javascript|application\/javascript)\b/i;

export async function sendFile(req: IncomingMessage, res: ServerResponse, file: Downloadable, options: SendFileOptions = {}): Promise<void> {
  try {
    const { storage, name } = resolve(file);
    const [size, modified] = await Promise.all([storage.size(name), storage.modifiedTime(name)]);
    const etag = `"${size.toString(16)}-${modified.getTime().toString(16)}"`;
    const contentType = options.contentType ?? (mimeLookup(name) || 'application/octet-stream');
    const disposition = ACTIVE_TYPES.test(contentType) ? 'attachment' : (options.disposition ?? 'attachment');
    const filename = options.filename ?? splitName(name).stem + splitName(name).ext;
    res.setHeader('ETag', etag);
    res.setHeader('Last-Modified', modified.toUTCString());
    res.setHeader('Cache-Control', options.cacheControl ?? 'private, no-cache');
    res.setHeader('Accept-Ranges', 'bytes');
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.writeHead(304).end();
      return;
    }
    res.setHeader('Content-Type', contentType);
    res.setHeader('Content-Disposition', contentDisposition(filename, { type: disposition }));
    // The declared type is final: no browser guesses a script out of an image.
    res.setHeader('X-Content-Type-Options', 'nosniff');
    let range: { start: number; end: number } | undefined;
    const header = req.headers.range;
    const ifRange = req.headers['if-range'];
    if (header !== undefined && (ifRange === undefined || ifRange === etag)) {
      const ranges = parseRange(size, header, { combine: true });
      if (ranges === -1) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      // Malformed (-2), another unit, or several ranges: the whole file (RFC 9110 allows ignoring Range).
      if (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1) range = ranges[0];
    }
    if (range) {
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
      res.setHeader('Content-Length', range.end - range.start + 1);
    } else {
      res.statusCode = 200;
      res.setHeader('Content-Length', size);
    }
    if (req.method === 'HEAD' || (size === 0 && !range)) {
      res.end();
      return;
    }
    // A client that goes away stops the storage read too.
    const controller = new AbortController();
    res.once('close', () => controller.abort());
    const body = await storage.createReadStream(name, { range, signal: controller.signal });
    await pipeline(body, res).catch((error: unknown) => {
      if (!controller.signal.aborted) throw error;
    });
  } catch (error) {
    if (res.headersSent) res.destroy();
    else sendError(res, error);
  }
}

/** Redirect to the file's URL (a presigned one for private S3 buckets). */
export async function redirectToFile(res: ServerResponse, file: Downloadable, options: RedirectOptions = {}): Promise<void> {
  try {
    const { storage, name } = resolve(file);
    if ((options.checkExists ?? true) && !(await storage.exists(name))) throw new FileNotFoundError(name);
    const url = await storage.url(name);
    // A presigned URL expires: neither the browser nor a proxy may keep the redirect.
    res.writeHead(options.status ?? 302, { Location: url, 'Cache-Control': 'no-store' }).end();
  } catch (error) {
    sendError(res, error);
  }
}

function resolve(file: Downloadable): { storage: Storage; name: string } {
  if (file instanceof FieldFile) {
    // An empty field is a missing file to the client.
    if (file.name === null) throw new FileNotFoundError(file.field.property, { cause: new NoFileError(file.field.property) });
    return { storage: file.storage, name: file.name };
  }
  return file;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === etag);
}
