/**
 * `receiveMultipart(req, options)`: a multipart/form-data request (Node's IncomingMessage, so
 * Express, Fastify's `request.raw` and Koa's `ctx.req` alike) parsed by busboy, each file part
 * streamed straight into `FieldFile.save` or `Storage.save`, one part at a time, with busboy's
 * backpressure: memory stays bounded by the driver's buffers, whatever the file's size.
 *
 * Before a byte is stored, the client's file name goes through the name rules and the first
 * bytes are sniffed and validated; while the part streams, the size limit is enforced (the
 * upload stops at maxSize + 1 byte). Any failure (a validator, the limit, a client that
 * disconnects, a storage error, a later part) aborts the save in flight, whose driver undoes
 * what it wrote, and removes the files this request already stored; through an ORM adapter the
 * names they claimed are abandoned, so the sweeper finds no claim waiting out its grace period.
 * The promise settles only after that clean-up.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import busboy from 'busboy';
import { FieldFile, type FileLedger, OperationAbortedError, Storage } from '@filefield/core';
import { clientFileName } from './client-names';
import { FileValidationError } from './errors';
import { SNIFF_BYTES, sniffContentTypes } from './sniff';
import { type FileValidator, limitsOf, tooLarge, validateFile } from './validators';

export interface MultipartFileOptions {
  /**
   * Where the file goes: a FieldFile (`row.avatar`: uploadTo and a free name applied, claimed in
   * the adapter's ledger, saved with `{ save: false }`, so the row's save references it), or a
   * Storage (the cleaned client name, made unique).
   */
  to: FieldFile | Storage;
  validators?: readonly FileValidator[];
  /** Refuse a request without this file (default true). */
  required?: boolean;
}

export interface MultipartLimits {
  /** Non-file fields (default 100). */
  fields?: number;
  /** Bytes of one non-file field (default 64 KiB). */
  fieldSize?: number;
  /** Parts of any kind (default 200). */
  parts?: number;
}

export interface MultipartOptions {
  /** The file fields this handler takes, by form field name; a file part for any other is refused. */
  files: Record<string, MultipartFileOptions>;
  limits?: MultipartLimits;
  /**
   * The ledger of the FieldFiles' adapter (TypeORM `installFileFields(...).ledger`): when a later
   * part fails, the claims of files already stored are abandoned with it, not left to expire.
   */
  ledger?: FileLedger;
  /** Cancels the upload (it is undone like any failure). */
  signal?: AbortSignal;
}

/** One stored file. */
export interface ReceivedFile {
  field: string;
  /** The client's file name, cleaned. */
  filename: string;
  /** The name it was stored under. */
  name: string;
  size: number;
  /** What its bytes sniff as. */
  contentType: string;
}

export interface MultipartResult {
  /** The non-file fields (the last value of a repeated name). */
  fields: Record<string, string>;
  files: Record<string, ReceivedFile>;
}

const DEFAULT_LIMITS = { fields: 100, fieldSize: 64 * 1024, parts: 200 };

/**
 * After a refusal, this much more of the body is read and dropped (so a client that is still
 * sending gets to read the error response); past it, reading stops, and the error response
 * (`Connection: close`, see sendError) ends the connection: a 10 GiB body for a 5 MiB limit is not read.
 */
const DRAIN_BYTES = 1024 * 1024;

interface Stored extends ReceivedFile {
  to: FieldFile | Storage;
  previous: string | null;
}

export function receiveMultipart(req: IncomingMessage, options: MultipartOptions): Promise<MultipartResult> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const specs = new Map(Object.entries(options.files));
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([controller.signal, options.signal]) : controller.signal;
  const fields: Record<string, string> = {};
  const stored: Stored[] = [];
  let failure: unknown;
  /** The part being stored: a failure ends it, or its reader would wait for a body that never comes. */
  let current: Readable | undefined;
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    controller.abort(error);
    current?.destroy();
  };

  let parser: busboy.Busboy;
  try {
    // preservePath: the client's name as sent, so the name rules refuse a path instead of busboy quietly cutting it.
    parser = busboy({ headers: req.headers, preservePath: true, limits: { fields: limits.fields, fieldSize: limits.fieldSize, parts: limits.parts } });
  } catch (error) {
    // Not multipart/form-data, or no boundary.
    drain(req);
    return Promise.reject(new FileValidationError('E_MALFORMED_UPLOAD', 'The request must be multipart/form-data with a boundary.', { cause: error }));
  }

  return new Promise<MultipartResult>((resolve, reject) => {
    let queue = Promise.resolve();
    const malformed = (message: string) => () => fail(new FileValidationError('E_MALFORMED_UPLOAD', message));
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) malformed(`The form field '${name}' is longer than ${limits.fieldSize} bytes.`)();
      else if (!Object.prototype.hasOwnProperty.call(options.files, name)) fields[name] = value;
    });
    parser.on('fieldsLimit', malformed(`The form has more than ${limits.fields} fields.`));
    parser.on('partsLimit', malformed(`The form has more than ${limits.parts} parts.`));
    parser.on('file', (field, stream, info) => {
      // One part at a time: busboy holds back the rest of the body until this one is consumed.
      queue = queue.then(() => receiveFile(field, stream, info.filename));
    });
    parser.on('error', (error) => fail(new FileValidationError('E_MALFORMED_UPLOAD', 'The multipart body is malformed or incomplete.', { cause: error })));
    const parsed = new Promise<void>((done) => parser.once('close', done));
    const onAbort = () => fail(new OperationAbortedError('The upload was aborted.', { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // A client that goes away mid-body: busboy may never finish, so the abort must come from here.
    const onClose = () => {
      if (!req.complete) fail(new OperationAbortedError('The client disconnected before the upload finished.'));
    };
    req.once('close', onClose);

    async function receiveFile(field: string, stream: Readable, rawName: string | undefined): Promise<void> {
      const spec = specs.get(field);
      try {
        if (failure !== undefined) return;
        if (!spec) throw new FileValidationError('E_UNEXPECTED_FILE', `The form field '${field}' does not take a file.`, { field });
        if (stored.some((file) => file.field === field)) throw new FileValidationError('E_TOO_MANY_FILES', `The form field '${field}' takes one file.`, { field });
        current = stream;
        await storePart(field, spec, stream, rawName);
      } catch (error) {
        fail(error);
      } finally {
        current = undefined;
        // Whatever is left of a refused part is read and dropped, so the parser goes on to the end.
        stream.resume();
      }
    }

    async function storePart(field: string, spec: MultipartFileOptions, stream: Readable, rawName: string | undefined): Promise<void> {
      const filename = clientFileName(rawName, field);
      const validators = spec.validators ?? [];
      const { maxSize, minSize } = limitsOf(validators);
      const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const head: Buffer[] = [];
      let headBytes = 0;
      let ended = false;
      while (headBytes < SNIFF_BYTES) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        head.push(next.value);
        headBytes += next.value.length;
      }
      const headBuffer = Buffer.concat(head).subarray(0, SNIFF_BYTES);
      const sniffedTypes = sniffContentTypes(headBuffer);
      validateFile(validators, { field, filename, head: headBuffer, sniffedTypes, size: ended ? headBytes : undefined });
      if (maxSize !== undefined && headBytes > maxSize) throw tooLarge(field, maxSize);
      let size = 0;
      const body = async function* (): AsyncGenerator<Buffer> {
        for (const chunk of head) {
          size += chunk.length;
          yield chunk;
        }
        while (!ended) {
          const next = await chunks.next();
          if (next.done) break;
          size += next.value.length;
          // The byte after the limit stops the upload: the save is aborted and its driver undoes it.
          if (maxSize !== undefined && size > maxSize) {
            const error = tooLarge(field, maxSize);
            fail(error);
            throw error;
          }
          yield next.value;
        }
        if (size < minSize) {
          const error = new FileValidationError('E_FILE_TOO_SMALL', `The file in '${field}' must be at least ${minSize} bytes.`, { field });
          fail(error);
          throw error;
        }
      };
      const { to } = spec;
      const previous = to instanceof FieldFile ? to.name : null;
      let name: string;
      try {
        name =
          to instanceof FieldFile
            ? await to.save(filename, Readable.from(body()), { save: false, signal })
            : await to.save(to.generateFilename(filename), Readable.from(body()), { signal });
      } catch (error) {
        // The abort's own reason (the limit, a disconnect) says more than the driver's abort error.
        throw failure ?? error;
      }
      stored.push({ field, filename, name, size, contentType: sniffedTypes[0], to, previous });
      if (failure !== undefined) throw failure;
    }

    const finish = async () => {
      await parsed;
      await queue;
    };
    // Stops waiting for the parser once something failed: the body may never end (a disconnect).
    const failed = new Promise<void>((done) => controller.signal.addEventListener('abort', () => done(), { once: true }));
    Promise.race([finish(), failed.then(() => queue)])
      .then(async () => {
        if (failure === undefined) {
          const missing = [...specs].find(([field, spec]) => (spec.required ?? true) && !stored.some((file) => file.field === field));
          if (missing) fail(new FileValidationError('E_MISSING_FILE', `The form field '${missing[0]}' needs a file.`, { field: missing[0] }));
        }
        if (failure === undefined) {
          resolve({ fields, files: Object.fromEntries(stored.map(({ to, previous, ...file }) => [file.field, file])) });
          return;
        }
        req.unpipe(parser);
        drain(req);
        await undo(stored, options.ledger);
        reject(failure);
      })
      .catch(reject)
      .finally(() => {
        req.off('close', onClose);
        options.signal?.removeEventListener('abort', onAbort);
      });
    req.pipe(parser);
  });
}

/** Read and drop up to DRAIN_BYTES more of a refused body, then stop reading it. */
function drain(req: IncomingMessage): void {
  let dropped = 0;
  const onData = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped <= DRAIN_BYTES) return;
    req.off('data', onData);
    req.pause();
  };
  req.on('data', onData);
  req.resume();
}

/** Files this request stored before it failed: removed, their fields given back their names, their claims abandoned. */
async function undo(files: Stored[], ledger: FileLedger | undefined): Promise<void> {
  for (const file of files) {
    const storage = file.to instanceof FieldFile ? file.to.storage : file.to;
    if (file.to instanceof FieldFile) file.to.name = file.previous;
    await storage.delete(file.name).catch(() => undefined);
    if (file.to instanceof FieldFile) await ledger?.abandon([{ storage, name: file.name }]).catch(() => undefined);
  }
}
