/**
 * The token a direct upload's form sends back to `attach`: what the server decided (storage,
 * name, field, subject, limits, expiry), signed with HMAC-SHA256 under the application's secret.
 * The client holds it but cannot change it: a name the server did not issue (another user's
 * file) fails the signature, compared in constant time. Not encrypted: it names only what the
 * upload target already shows the client.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from '@filefield/core';
import { UploadTokenError } from './errors';

export interface UploadClaims {
  /** The storage id. */
  s: string;
  /** The name the server chose. */
  n: string;
  /** The field label (`Model#property`). */
  f: string;
  /** Who it was issued to ('' for anyone). */
  u: string;
  /** The client's cleaned file name. */
  fn: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

/** Secrets shorter than this are refused: HMAC-SHA256 keys want 256 bits. */
const MIN_SECRET_BYTES = 32;
const VERSION = 'v1';

export class UploadTokens {
  private readonly key: Buffer;

  constructor(secret: string | Buffer) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (!Buffer.isBuffer(bytes) || bytes.length < MIN_SECRET_BYTES) {
      throw new ConfigurationError(`Direct uploads need a secret of at least ${MIN_SECRET_BYTES} bytes (e.g. crypto.randomBytes(32)), kept out of the client.`);
    }
    // A key of its own for this purpose: the app's secret may sign other things too.
    this.key = createHmac('sha256', bytes).update('filefield direct upload token').digest();
  }

  sign(claims: UploadClaims): string {
    const payload = `${VERSION}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The claims of a token this secret signed and that has not expired at `now`; `UploadTokenError` otherwise. */
  verify(token: unknown, now: number, field?: string): UploadClaims {
    if (typeof token !== 'string' || token.length > 4096) throw new UploadTokenError('The upload token is missing or malformed.', field);
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) throw new UploadTokenError('The upload token is malformed.', field);
    const payload = `${parts[0]}.${parts[1]}`;
    const given = Buffer.from(parts[2], 'base64url');
    const expected = this.mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new UploadTokenError('The upload token was not issued by this server.', field);
    let claims: UploadClaims;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as UploadClaims;
    } catch {
      throw new UploadTokenError('The upload token is malformed.', field);
    }
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw new UploadTokenError('The upload token has expired; ask for a new upload target.', field);
    return claims;
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest();
  }
}
