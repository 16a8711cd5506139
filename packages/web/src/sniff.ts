/**
 * The content type of a file as its bytes say, not as the client declares it (a client names a
 * script `photo.png` and sends `image/png`). Binary formats by their magic numbers
 * (`magic-bytes.js`; `file-type` is ESM-only since v17 and would not load in CommonJS apps);
 * anything without a signature that is valid UTF-8 without NUL bytes is `text/plain`, and the
 * rest `application/octet-stream`.
 */
import { filetypemime } from 'magic-bytes.js';

/** How many leading bytes sniffing reads (what the longest signatures need, as file-type reads). */
export const SNIFF_BYTES = 4100;

/** Every type the head's signatures match (a PNG is also `image/apng`); text or octet-stream otherwise. */
export function sniffContentTypes(head: Uint8Array): string[] {
  const found = [...new Set(filetypemime(head).filter((type) => typeof type === 'string' && type !== ''))];
  if (found.length > 0) return found;
  return [looksLikeText(head) ? 'text/plain' : 'application/octet-stream'];
}

/** The first sniffed type: what a download is served as. */
export function sniffContentType(head: Uint8Array): string {
  return sniffContentTypes(head)[0];
}

function looksLikeText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  // The head may end inside a multi-byte character: a stream decoder keeps that tail instead of failing.
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}
