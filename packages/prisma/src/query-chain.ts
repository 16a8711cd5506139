/**
 * Running the rest of Prisma's query chain inside a transaction the extension opened.
 *
 * Prisma runs query extensions in the order they were applied, so fileFields()'s hook comes
 * before those of extensions applied after it (an audit log, a tenant filter). A write outside
 * any transaction gets a transaction of its own, so that its ledger statements commit with it;
 * running the write on that transaction's client would skip the later hooks. Instead the write is
 * the chain's own `query(args)`, attached to the transaction the way Prisma attaches the queries
 * of a batch `$transaction([...])`: `requestTransaction` on its PrismaPromise, given the
 * transaction record that the interactive client's promise factory holds. Both are Prisma
 * internals (checked on 7.x); where either is missing, `attach` says so and the caller runs the
 * write on the transaction's client, which later extensions do not see.
 */

type PromiseFactory = (callback: (transaction: unknown) => Promise<unknown>) => PromiseLike<unknown>;
type ChainablePromise = PromiseLike<unknown> & { requestTransaction?(transaction: unknown): PromiseLike<unknown> };

/** The record of the interactive transaction `tx` is the client of, or undefined if Prisma does not expose it. */
export async function transactionRecord(tx: object): Promise<unknown> {
  const factory = (tx as { _createPrismaPromise?: PromiseFactory })._createPrismaPromise;
  if (typeof factory !== 'function') return undefined;
  const record = await factory.call(tx, async (transaction) => transaction);
  return typeof record === 'object' && record !== null && (record as { kind?: unknown }).kind === 'itx' ? record : undefined;
}

/** `query` (the rest of the chain) run inside the transaction `record` names; undefined when it cannot be. */
export function attach(query: () => PromiseLike<unknown>, record: unknown): PromiseLike<unknown> | undefined {
  if (record === undefined) return undefined;
  const promise = query() as ChainablePromise;
  // Lazy until awaited or attached: a promise that cannot be attached has not run.
  return typeof promise.requestTransaction === 'function' ? promise.requestTransaction(record) : undefined;
}
