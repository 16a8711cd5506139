import { createHash } from 'node:crypto';

/**
 * The ledger's key for a file: SHA-256 of the storage id and the name, in hex. The tables compare
 * keys rather than names, so `a.txt` and `A.txt` (or `a.txt` and `a.txt `) stay two files under
 * any collation, and no index ever holds a 1024-byte name.
 */
export function fileKey(storageId: string, name: string): string {
  return createHash('sha256').update(storageId).update('\u0000').update(name).digest('hex');
}
