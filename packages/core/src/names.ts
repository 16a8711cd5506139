/**
 * File name rules, after Django's `validate_file_name`, `get_valid_filename` and
 * `Storage.get_alternative_name`. Names are POSIX-style relative paths ("tests/a.txt").
 * Every function here is pure; storages and FieldFile call them, and a storage checks the name
 * it stored again (Django ticket #30591: a custom `getAvailableName` must not bypass validation).
 */
import { randomInt } from 'node:crypto';
import { posix } from 'node:path';
import { SuspiciousFileOperation } from './errors';

/**
 * Characters no stored name may hold: C0/C1 controls and DEL (Cc), format characters such as the
 * bidi overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width joiners and the BOM (Cf),
 * lone surrogates, which have no UTF-8 form (Cs), and the line/paragraph separators (Zl, Zp).
 */
const FORBIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const WINDOWS_DRIVE = /^[A-Za-z]:/;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Quote a user-supplied name for an error message without letting control characters through. */
function quoted(name: string): string {
  return JSON.stringify(name);
}

/**
 * Refuse names that are empty, absolute, contain `..` components, backslashes, control or format
 * characters, or that are not canonical: an empty segment (`a//b`), a `.` segment (`./a`,
 * `a/./b`) or a trailing slash. Every storage resolves such spellings to another name (`a/b`),
 * so accepting them would let one object have two names, and deleting one would delete the other.
 * With `allowRelativePath: false` the name must be a bare file name. Returns the name unchanged
 * when it is safe.
 */
export function validateFileName(name: string, options: { allowRelativePath?: boolean } = {}): string {
  if (typeof name !== 'string') {
    throw new SuspiciousFileOperation(`A file name must be a string, got ${typeof name}.`);
  }
  const forbidden = FORBIDDEN_CHARACTERS.exec(name);
  if (forbidden) {
    const codePoint = forbidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    throw new SuspiciousFileOperation(`File name ${quoted(name)} contains a control or format character (U+${codePoint}).`);
  }
  if (name.includes('\\')) {
    throw new SuspiciousFileOperation(`File name ${quoted(name)} contains a backslash; use '/' to separate directories.`);
  }
  const base = posix.basename(name);
  if (base === '' || base === '.' || base === '..' || name.endsWith('/')) {
    throw new SuspiciousFileOperation(`Could not derive file name from ${quoted(name)}.`);
  }
  if (options.allowRelativePath ?? true) {
    if (name.startsWith('/') || WINDOWS_DRIVE.test(name) || name.split('/').includes('..')) {
      throw new SuspiciousFileOperation(`Detected path traversal attempt in ${quoted(name)}.`);
    }
  } else if (name !== base) {
    throw new SuspiciousFileOperation(`File name ${quoted(name)} includes path elements.`);
  }
  if (name.split('/').some((segment) => segment === '' || segment === '.')) {
    throw new SuspiciousFileOperation(
      `File name ${quoted(name)} is not canonical (an empty or '.' segment); storages read it as ${quoted(posix.normalize(name).replace(/^\.\//, ''))}.`,
    );
  }
  return name;
}

/**
 * Django's `get_valid_filename`: strip, spaces to underscores, drop everything that is not
 * alphanumeric, dash, underscore or dot. Applied to the last path component only.
 */
export function getValidFileName(name: string): string {
  const cleaned = name.trim().replace(/\s/g, '_').replace(/[^-\p{L}\p{N}_.]/gu, '');
  if (cleaned === '' || cleaned === '.' || cleaned === '..') {
    throw new SuspiciousFileOperation(`Could not derive file name from ${quoted(name)}.`);
  }
  return cleaned;
}

/** Join and normalise path parts ("a//b/./c" → "a/b/c"), refusing anything that climbs out. */
export function joinName(...parts: string[]): string {
  const joined = posix.normalize(parts.filter((part) => part !== '').join('/'));
  const trimmed = joined.replace(/^\.\//, '');
  return validateFileName(trimmed);
}

/** Split "dir/stem.ext" into its directory, stem and extension (extension includes the dot). */
export function splitName(name: string): { dir: string; stem: string; ext: string } {
  const dir = posix.dirname(name);
  const ext = posix.extname(name);
  const stem = posix.basename(name, ext);
  return { dir: dir === '.' ? '' : dir, stem, ext };
}

/** Seven random characters from [A-Za-z0-9], as Django's `get_random_string(7)`. */
export function randomSuffix(length = 7): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return out;
}

/**
 * A candidate for a taken name: `dir/stem_<7 chars>.ext`. With `maxLength`, the stem is truncated
 * so the whole name fits; when even an empty stem cannot fit, a SuspiciousFileOperation says so.
 */
export function alternativeName(name: string, maxLength?: number): string {
  const { dir, stem, ext } = splitName(name);
  const build = (root: string) => (dir ? `${dir}/` : '') + `${root}_${randomSuffix()}${ext}`;
  let candidate = build(stem);
  if (maxLength !== undefined && candidate.length > maxLength) {
    const truncation = candidate.length - maxLength;
    const root = stem.slice(0, Math.max(0, stem.length - truncation));
    if (root === '') {
      throw new SuspiciousFileOperation(
        `Storage can not find an available filename for ${quoted(name)}. ` +
          'Please make sure that the corresponding file field allows sufficient "maxLength".',
      );
    }
    candidate = build(root);
  }
  return candidate;
}

/** The first name to try: the name itself when it fits `maxLength`, else a truncated alternative. */
export function firstCandidate(name: string, maxLength?: number): string {
  return maxLength !== undefined && name.length > maxLength ? alternativeName(name, maxLength) : name;
}
