/**
 * Direct uploads: the browser sends the bytes to the storage (an S3 presigned POST) and the app
 * only decides and checks.
 *
 * 1. `issue(row.avatar, { filename })`: the server picks a staging name for the upload (the
 *    field's name for the file, uploadTo applied, plus `.upload`, made free) and claims it in the
 *    ledger *before* anything is uploaded, so an upload never attached is swept once the claim
 *    expires; then asks the storage for an upload target limited to that name, the size range
 *    and the content type of the file's extension; then signs a token (upload-tokens.ts).
 * 2. The browser POSTs the file to the target, and sends the token back with its form.
 * 3. `attach(row.avatar, token)`: verifies the token (signature, expiry, this field, this
 *    storage, this subject), copies the upload inside the storage to the field's own free name
 *    (claimed), checks the copy (its size, and the type its first bytes sniff as, read by range)
 *    and assigns its name to the field, so the row's save references it. The target stays
 *    usable until it expires, but it only reaches the staging name: what a row names is the copy
 *    that was checked. A copy that fails a check is handed to the sweeper (its claim abandoned).
 *    The staging upload is kept until the token expires (a retried attach, or a corrected upload
 *    through the same target, still finds it) and swept then.
 *
 * Storages without `createUploadTarget` (filesystem, memory) are refused with a clear error:
 * they take uploads through the app anyway, with `receiveMultipart`.
 */
import { ConfigurationError, type FieldFile, type FileLedger, FileNotFoundError, type UploadTarget } from '@filefield/core';
import { lookup as mimeLookup } from 'mime-types';
import { clientFileName } from './client-names';
import { FileValidationError, UploadTokenError } from './errors';
import type { ReceivedFile } from './multipart';
import { SNIFF_BYTES, sniffContentTypes } from './sniff';
import { UploadTokens } from './upload-tokens';
import { type FileValidator, limitsOf, validateFile } from './validators';

export interface DirectUploadsOptions {
  /** The app's secret for signing tokens (at least 32 bytes), never sent to clients. */
  secret: string | Buffer;
  /** Checks on what arrives; a FileSizeValidator's maxSize is also the storage's own limit. One is required. */
  validators: readonly FileValidator[];
  /**
   * The ledger of the FieldFiles' adapter (TypeORM `installFileFields(...).ledger`): names are
   * claimed in it before the upload, and abandoned when a check refuses what arrived. Without
   * one, nothing is claimed and an upload never attached stays in the storage.
   */
  ledger?: FileLedger;
  /** Seconds the upload target and token stay valid (default 600); less than the ledger's grace period. */
  expiresIn?: number;
  /** The clock in ms (tests move it). */
  clock?: () => number;
}

export interface IssuedUpload {
  /** Where the browser sends the file. */
  target: UploadTarget;
  /** What the form sends back to `attach`. */
  token: string;
  expiresAt: Date;
}

export interface SubjectOptions {
  /** Whom the upload belongs to (a user id): `attach` refuses a token issued to another. */
  subject?: string;
}

const DEFAULT_EXPIRES_IN = 600;

/** What a staging name adds to the field's name for the file (`avatars/me.png.upload`). */
const STAGING_SUFFIX = '.upload';

export class DirectUploads {
  private readonly tokens: UploadTokens;
  private readonly validators: readonly FileValidator[];
  private readonly ledger: FileLedger | undefined;
  private readonly expiresIn: number;
  private readonly clock: () => number;
  private readonly maxSize: number;
  private readonly minSize: number;

  constructor(options: DirectUploadsOptions) {
    this.tokens = new UploadTokens(options.secret);
    this.validators = options.validators;
    this.ledger = options.ledger;
    this.expiresIn = options.expiresIn ?? DEFAULT_EXPIRES_IN;
    this.clock = options.clock ?? Date.now;
    const { maxSize, minSize } = limitsOf(this.validators);
    if (maxSize === undefined) throw new ConfigurationError('DirectUploads needs a FileSizeValidator: the storage must be told the largest upload it may accept.');
    this.maxSize = maxSize;
    this.minSize = minSize;
    if (!Number.isInteger(this.expiresIn) || this.expiresIn < 1) throw new ConfigurationError('DirectUploads `expiresIn` must be a positive number of seconds.');
    if (this.ledger && this.expiresIn * 1000 >= this.ledger.gracePeriod) {
      throw new ConfigurationError(
        `DirectUploads \`expiresIn\` (${this.expiresIn} s) must be shorter than the ledger's grace period (${this.ledger.gracePeriod / 1000} s), or the sweeper could take an upload before it is attached.`,
      );
    }
  }

  /** An upload target and token for a file the client wants to upload to `file`'s field. */
  async issue(file: FieldFile, request: { filename: string }, options: SubjectOptions = {}): Promise<IssuedUpload> {
    const { field, storage } = file;
    if (typeof storage.createUploadTarget !== 'function') {
      throw new ConfigurationError(
        `${field.label}: its storage (${storage.constructor.name}) has no direct upload target; take the upload through the app with receiveMultipart.`,
      );
    }
    const filename = clientFileName(request.filename, field.property);
    for (const validator of this.validators) validator.validateName?.(field.property, filename);
    const generated = field.generateFilename(file.instance, filename);
    // Claimed before the target exists: from here on, an upload that is never attached is the sweeper's.
    const name = await storage.getAvailableName(`${generated}${STAGING_SUFFIX}`, undefined, this.ledger?.nameClaim(storage));
    const expiresAt = new Date(this.clock() + this.expiresIn * 1000);
    const target = await storage.createUploadTarget(name, {
      maxSize: this.maxSize,
      minSize: this.minSize,
      // The server's choice, by the extension it kept: the client's declared type is not stored.
      contentType: mimeLookup(generated) || 'application/octet-stream',
      expiresIn: this.expiresIn,
    });
    const token = this.tokens.sign({ s: storage.id, n: name, f: field.label, u: options.subject ?? '', fn: filename, exp: expiresAt.getTime() });
    return { target, token, expiresAt };
  }

  /**
   * Check the upload a token was issued for and assign it to `file` (not saved: the row's save
   * references it). Throws `UploadTokenError` (403) for a token that does not verify here, and
   * `FileValidationError` for an upload that did not arrive or fails a validator (its copy is
   * then handed to the sweeper, and the token may be attached again with a corrected upload).
   */
  async attach(file: FieldFile, token: unknown, options: SubjectOptions = {}): Promise<ReceivedFile> {
    const { field, storage } = file;
    const claims = this.tokens.verify(token, this.clock(), field.property);
    if (claims.f !== field.label) throw new UploadTokenError(`The upload token was issued for another field, not ${field.label}.`, field.property);
    if (claims.s !== storage.id) throw new UploadTokenError('The upload token was issued for another storage.', field.property);
    if (claims.u !== (options.subject ?? '')) throw new UploadTokenError('The upload token was issued to someone else.', field.property);
    const upload = claims.n;
    // Once checked, the staging upload stays until the token expires (for a retried attach, or a
    // corrected upload through the same target), then it is the sweeper's. Without a ledger
    // nothing would sweep it, so it goes at once.
    const dropUpload = () =>
      this.ledger ? this.ledger.abandon([{ storage, name: upload }], { claimUntil: claims.exp }) : storage.delete(upload);
    const name = await storage.getAvailableName(field.generateFilename(file.instance, claims.fn), field.maxLength, this.ledger?.nameClaim(storage));
    // What a refused or failed copy may have left: the sweeper checks it at once, and keeps it
    // only if a row names it. Without a ledger nothing can name it yet, so it goes now.
    const dropCopy = () => (this.ledger ? this.ledger.abandon([{ storage, name }]) : storage.delete(name));
    let size: number;
    let head: Buffer;
    try {
      // A copy the target cannot reach: the client may send to its target again until it
      // expires, and a row must keep naming the bytes that were checked.
      await storage.copy(upload, name);
      size = await storage.size(name);
      head = size === 0 ? Buffer.alloc(0) : await readHead(file, name);
    } catch (error) {
      await dropCopy().catch(() => undefined);
      if (!(error instanceof FileNotFoundError)) throw error;
      throw new FileValidationError('E_MISSING_FILE', `The upload for '${field.property}' has not arrived; send the file to the upload target first.`, { field: field.property });
    }
    const sniffedTypes = sniffContentTypes(head);
    try {
      validateFile(this.validators, { field: field.property, filename: claims.fn, head, sniffedTypes, size });
    } catch (error) {
      await Promise.all([dropCopy().catch(() => undefined), dropUpload().catch(() => undefined)]);
      throw error;
    }
    await dropUpload().catch(() => undefined);
    file.name = name;
    return { field: field.property, filename: claims.fn, name, size, contentType: sniffedTypes[0] };
  }
}

/** The first SNIFF_BYTES bytes, by a ranged read (no more is downloaded). */
async function readHead(file: FieldFile, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await file.storage.createReadStream(name, { range: { start: 0, end: SNIFF_BYTES - 1 } })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

