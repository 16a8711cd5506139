/**
 * `expectNoSecret(error, secret)`: fails when a secret can be found anywhere a logger, an error
 * reporter or a debugger could show it: message, stack, the `cause` chain, AggregateError's
 * `errors`, any own property (enumerable or not, nested objects, buffers, maps), JSON.stringify
 * and util.inspect at full depth. The secret is also looked for URL-encoded.
 */
import { inspect } from 'node:util';

/** Where in `root` a secret was found, as a property path; undefined when nowhere. */
export function findSecret(root: unknown, secret: string | readonly string[]): string | undefined {
  const needles = (typeof secret === 'string' ? [secret] : [...secret]).flatMap((value) => {
    if (value.length < 4) throw new Error(`findSecret: '${value}' is too short to search for without false alarms`);
    return [...new Set([value, encodeURIComponent(value)])];
  });
  const contains = (text: string) => needles.some((needle) => text.includes(needle));

  const seen = new WeakSet<object>();
  const walk = (value: unknown, path: string, depth: number): string | undefined => {
    if (typeof value === 'string') return contains(value) ? path : undefined;
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' || typeof value === 'symbol') {
      return contains(String(value)) ? path : undefined;
    }
    if (typeof value === 'function') return contains(value.name) ? `${path}.name` : undefined;
    if (value === null || value === undefined || typeof value !== 'object') return undefined;
    if (seen.has(value) || depth > 64) return undefined;
    seen.add(value);
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      return contains(bytes.toString('latin1')) || contains(bytes.toString('utf8')) ? `${path}<bytes>` : undefined;
    }
    if (value instanceof Map) {
      let index = 0;
      for (const [key, entry] of value) {
        const found = walk(key, `${path}<key ${index}>`, depth + 1) ?? walk(entry, `${path}<value ${index}>`, depth + 1);
        if (found) return found;
        index += 1;
      }
    }
    if (value instanceof Set) {
      let index = 0;
      for (const entry of value) {
        const found = walk(entry, `${path}<entry ${index}>`, depth + 1);
        if (found) return found;
        index += 1;
      }
    }
    // Errors keep message, stack and cause as non-enumerable own properties: list every own key.
    const keys: Array<string | symbol> = Reflect.ownKeys(value);
    if (value instanceof Error) for (const key of ['message', 'stack', 'cause', 'errors']) if (!keys.includes(key)) keys.push(key);
    for (const key of keys) {
      const label = typeof key === 'symbol' ? `[${key.toString()}]` : key;
      if (contains(label)) return `${path}<key ${label}>`;
      let child: unknown;
      try {
        const descriptor = Object.getOwnPropertyDescriptor(value, key);
        // Getters are not run (they may have side effects); what they return is not stored here.
        child = descriptor === undefined ? (value as Record<string | symbol, unknown>)[key] : 'value' in descriptor ? descriptor.value : undefined;
      } catch {
        continue;
      }
      const found = walk(child, `${path}.${label}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  };

  const found = walk(root, 'error', 0);
  if (found) return found;
  if (contains(safeJson(root))) return 'JSON.stringify(error)';
  const inspected = inspect(root, { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity, breakLength: Infinity });
  if (contains(inspected)) return 'util.inspect(error)';
  return undefined;
}

/** Throws (failing the test) when `secret` appears anywhere in `error`; names the place. */
export function expectNoSecret(error: unknown, secret: string | readonly string[]): void {
  if (error === undefined) throw new Error('expectNoSecret: no error to check (the call did not fail?)');
  const found = findSecret(error, secret);
  if (found !== undefined) throw new Error(`A secret is exposed at ${found} of ${describe(error)}.`);
}

/** The error's class and code, never its message (which may be what holds the secret). */
function describe(error: unknown): string {
  if (error instanceof Error) return `${error.constructor.name}${'code' in error ? ` (${String((error as { code: unknown }).code)})` : ''}`;
  return typeof error;
}

/** JSON of everything reachable, errors' non-enumerable fields and buffers' text included; cycles cut. */
function safeJson(root: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(root, function replacer(this: unknown, _key: string, value: unknown) {
    if (typeof value === 'bigint') return String(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v], i) => [`${i}:${String(k)}`, v]));
    if (value instanceof Set) return [...value];
    if (value instanceof Error) {
      const error = value as Error & { cause?: unknown; errors?: unknown };
      return { ...error, name: error.name, message: error.message, stack: error.stack, cause: error.cause, errors: error.errors };
    }
    return value;
  }) ?? '';
}
