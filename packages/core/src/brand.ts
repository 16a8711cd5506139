/**
 * `instanceof` that works across copies of @filefield/core. An app can load two copies (a nested
 * install under another package, a bundle next to node_modules, Jest's per-file module registry);
 * each copy has its own classes, so a plain `instanceof` would refuse the other copy's ContentFile,
 * Storage or error. A branded class carries `Symbol.for('@filefield/core/<Class>')` on its
 * prototype (the global symbol registry is shared by every copy) and a static `Symbol.hasInstance`
 * that accepts any object carrying it.
 *
 * Brands are the same across versions; copies of incompatible versions are refused when they load
 * (see `storages` in registry.ts), so a brand never vouches for an object of another API.
 */

// Any class, including abstract ones and ones with a protected constructor (Storage).
type Class = Function & { readonly prototype: object };

const ordinaryHasInstance = Function.prototype[Symbol.hasInstance];
const brands = new WeakMap<object, symbol>();

/** The prototype key that marks instances of the class named `name`, in every copy. */
export function brandKey(name: string): symbol {
  return Symbol.for(`@filefield/core/${name}`);
}

function hasInstance(this: object, value: unknown): boolean {
  if (ordinaryHasInstance.call(this, value)) return true;
  // A subclass outside the core (S3Storage, a user's error) inherits this static method but has no
  // brand of its own: it keeps the ordinary prototype check.
  const key = brands.get(this);
  return key !== undefined && typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true;
}

/** Brand `cls` (and so its instances and its subclasses' instances) under `name`. */
export function brand(cls: Class, name: string): void {
  const key = brandKey(name);
  brands.set(cls, key);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, { value: hasInstance, configurable: true });
}
