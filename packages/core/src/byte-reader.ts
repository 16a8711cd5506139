/**
 * Reads exact byte counts from a stream of chunks, keeping only the unread remainder of the
 * current chunk: `read(3)` then `read()` on a streamed body without buffering the whole body
 * (except when the caller asks for all of it).
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array | string>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;

  constructor(source: AsyncIterable<Uint8Array | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Up to `size` bytes (all remaining when omitted); an empty Buffer at the end. */
  async read(size?: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (size === undefined || have < size) {
      if (this.pending.byteLength === 0 && !(await this.fill())) break;
      const take = size === undefined ? this.pending.byteLength : Math.min(size - have, this.pending.byteLength);
      parts.push(this.pending.subarray(0, take));
      this.pending = this.pending.subarray(take);
      have += take;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
  }

  /** Stop the underlying stream early (releases an HTTP connection or a file descriptor). */
  async close(): Promise<void> {
    this.pending = Buffer.alloc(0);
    if (!this.done) {
      this.done = true;
      await this.iterator.return?.();
    }
  }

  private async fill(): Promise<boolean> {
    while (!this.done) {
      const next = await this.iterator.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value);
      if (chunk.byteLength > 0) {
        this.pending = chunk;
        return true;
      }
    }
    return false;
  }
}
