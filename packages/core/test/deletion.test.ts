import {
  FileDeletionScheduler,
  FileFieldDefinition,
  MemoryStorage,
  PendingFileChanges,
  type ReferenceChecker,
  type Storage,
} from '@filefield/core';

/** A reference checker over an in-memory "table" of rows, counting its queries. */
class TableChecker implements ReferenceChecker {
  queries = 0;
  constructor(readonly rows: Set<string>) {}
  async referencedNames(_storage: Storage, names: readonly string[]): Promise<Set<string>> {
    this.queries += 1;
    // Like a database query, the answer reflects the rows at the moment the query starts.
    const referenced = new Set(names.filter((name) => this.rows.has(name)));
    await new Promise((resolve) => setTimeout(resolve, 5));
    return referenced;
  }
}

function fixture() {
  const storage = new MemoryStorage();
  const field = new FileFieldDefinition('M', 'file', { storage, default: 'defaults/default.txt' });
  return { storage, field };
}

describe('FileDeletionScheduler', () => {
  it('deletes unreferenced files, keeps referenced ones and never deletes the default', async () => {
    const { storage, field } = fixture();
    await Promise.all(['a', 'b', 'defaults/default.txt'].map((name) => storage.save(name, name)));
    const checker = new TableChecker(new Set(['b']));
    const outcome = await new FileDeletionScheduler().schedule(
      ['a', 'b', 'defaults/default.txt', null, ''].map((name) => ({ field, name })),
      checker,
    );
    expect(outcome).toEqual({ deleted: ['a'], kept: ['b'] });
    expect(storage.names()).toEqual(['b', 'defaults/default.txt']);
  });

  it('checks references in one batch for many names', async () => {
    const { storage, field } = fixture();
    const names = Array.from({ length: 1000 }, (_, i) => `f${i}`);
    await Promise.all(names.map((name) => storage.save(name, name)));
    const checker = new TableChecker(new Set());
    await new FileDeletionScheduler().schedule(names.map((name) => ({ field, name })), checker);
    expect(checker.queries).toBe(1);
    expect(storage.names()).toEqual([]);
  });

  it('deletes a shared file exactly once, after its last reference is gone', async () => {
    const { storage, field } = fixture();
    await storage.save('shared.txt', 'x');
    const rows = new Set(['shared.txt']);
    const checker = new TableChecker(rows);
    const deletes = jest.spyOn(storage, 'delete');
    const scheduler = new FileDeletionScheduler();
    // Row 1 is removed and committed while row 2 still references the name.
    const first = scheduler.schedule([{ field, name: 'shared.txt' }], checker);
    // Row 2 commits its removal while the first check runs; its check must start afterwards.
    rows.delete('shared.txt');
    const second = scheduler.schedule([{ field, name: 'shared.txt' }], checker);
    const third = scheduler.schedule([{ field, name: 'shared.txt' }], checker);
    const outcomes = await Promise.all([first, second, third]);
    expect(outcomes.map((o) => o.deleted.length).reduce((a, b) => a + b)).toBeGreaterThanOrEqual(1);
    expect(deletes).toHaveBeenCalledTimes(1);
    expect(checker.queries).toBe(2);
    expect(storage.names()).toEqual([]);
  });

  it('reports storage failures to onError without rejecting', async () => {
    const { storage, field } = fixture();
    jest.spyOn(storage, 'delete').mockRejectedValue(new Error('boom'));
    const errors: string[][] = [];
    const scheduler = new FileDeletionScheduler({ onError: (_error, { names }) => errors.push(names) });
    await expect(scheduler.schedule([{ field, name: 'x' }], new TableChecker(new Set()))).resolves.toEqual({ deleted: [], kept: [] });
    expect(errors).toEqual([['x']]);
  });
});

describe('PendingFileChanges', () => {
  it('deletes removed files on commit and uploaded ones on rollback, never both', async () => {
    const { storage, field } = fixture();
    await Promise.all(['old', 'new'].map((name) => storage.save(name, name)));
    const scheduler = new FileDeletionScheduler();
    const checker = new TableChecker(new Set());

    const committed = new PendingFileChanges();
    committed.deleteOnCommit({ field, name: 'old' });
    committed.deleteOnRollback({ field, name: 'new' });
    await committed.committed(scheduler, checker);
    expect(storage.names()).toEqual(['new']);
    expect(committed.isEmpty).toBe(true);

    await storage.save('old', 'old');
    const rolledBack = new PendingFileChanges();
    rolledBack.deleteOnCommit({ field, name: 'old' });
    rolledBack.deleteOnRollback({ field, name: 'new' });
    await rolledBack.rolledBack(scheduler, checker);
    expect(storage.names()).toEqual(['old']);
  });
});
