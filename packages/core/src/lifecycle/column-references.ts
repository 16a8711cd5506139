/**
 * "Which of these names does a row still store?", answered once for every adapter from the
 * columns it can query. A field's default always counts; each column is asked only about the
 * names no earlier column holds; and the values that come back are compared here, byte for
 * byte, because the database's own equality may fold case or trailing spaces (MariaDB's default
 * collations do), so `A.txt` found for `a.txt` protects nothing.
 */

/** A file column whose field uses the storage asked about, as the adapter reaches it. */
export interface ReferenceColumn {
  /** The field's default name (always referenced), if it has one. */
  readonly defaultName?: string;
  /**
   * The values rows of this column hold that the database finds equal to one of `names`
   * (undefined: nothing to query, e.g. a view). Strings or UTF-8 buffers.
   */
  storedAmong?(names: readonly string[]): Promise<Iterable<unknown>>;
}

export async function referencedNamesIn(columns: Iterable<ReferenceColumn>, names: readonly string[]): Promise<Set<string>> {
  const referenced = new Set<string>();
  const list = [...columns];
  for (const { defaultName } of list) if (defaultName !== undefined && names.includes(defaultName)) referenced.add(defaultName);
  for (const column of list) {
    if (!column.storedAmong) continue;
    const open = names.filter((name) => !referenced.has(name));
    if (open.length === 0) break;
    const wanted = new Set(open);
    for (const value of await column.storedAmong(open)) {
      const name = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
      if (wanted.has(name)) referenced.add(name);
    }
  }
  return referenced;
}

