/**
 * The Prisma adapter's behaviour, run by each database's test file against each storage,
 * beyond the shared lifecycle suite: the seed's Model doctest, results, save, replacement,
 * sharing, transactions and rollback, query economy and bad names. Everything talks to a real
 * database and a real storage; the only instrumentation wraps `storage.deleteMany` to record what
 * the sweeper deleted and who still named it then. The background sweeper is off: tests sweep.
 */
import { inspect } from 'node:util';
import { ContentFile, FieldFile, FileFieldError, FileNameTooLongError, NoFileError, ReferenceSources, randomSuffix, type Storage, SuspiciousFileOperation } from '@filefield/core';
import { FileColumnValueError, fileFields, RowNotFoundError } from '@filefield/prisma';
import { openDatabase, type Provider, type TestDatabase } from './databases';
import { STORAGE_KINDS, type StorageKind, type StorageKit, startStorageKit } from './storages';

/** The grace period of the tests' ledgers; `sweep(true)` sweeps as if it were over. */
const GRACE = 60_000;

function extend(db: TestDatabase, storage: Storage) {
  const randomDirs: string[] = [];
  const prisma = db.client.$extends(
    fileFields({
      myStorage: {
        normal: { uploadTo: 'tests', storage },
        default: { uploadTo: 'tests', default: 'tests/default.txt', storage },
        random: {
          // Django ticket #5655: the directory must be computed once per save.
          uploadTo: (_row, filename) => {
            const dir = `random-${randomSuffix()}`;
            randomDirs.push(dir);
            return `${dir}/${filename}`;
          },
          storage,
        },
      },
      attachment: { file: { uploadTo: 'attachments', storage } },
    }, { sweeper: false, gracePeriod: GRACE, references: new ReferenceSources() }),
  );
  return { prisma, randomDirs };
}

type ExtendedClient = ReturnType<typeof extend>['prisma'];

interface DeleteCall {
  name: string;
  /** Whether the file was there when the delete was issued. */
  existed: boolean;
  /** How many committed rows named the file at that moment. */
  references: number;
}

async function text(file: FieldFile): Promise<string> {
  return (await file.read()).toString('utf8');
}

async function join(chunks: AsyncIterable<Buffer>, separator: string): Promise<string> {
  const parts: string[] = [];
  for await (const chunk of chunks) parts.push(chunk.toString('utf8'));
  return parts.join(separator);
}

export function describeFileFields(provider: Provider): void {
  describe.each(STORAGE_KINDS)(`@filefield/prisma on ${provider} with the %s storage`, (kind: StorageKind) => {
    jest.setTimeout(60_000);
    let db: TestDatabase;
    let kit: StorageKit;
    let storage: Storage;
    let prisma: ExtendedClient;
    let randomDirs: string[];
    let deletes: DeleteCall[];
    /** When set, only these names are probed (exists + reference count) as they are deleted. */
    let probed: Set<string> | undefined;

    beforeAll(async () => {
      db = await openDatabase(provider);
      kit = await startStorageKit(kind);
    });

    afterAll(async () => {
      await db?.close();
      await kit?.stop();
    });

    /** Sweep now, or (`afterGrace`) as if the grace period were over. */
    const sweep = (afterGrace = false) => prisma.$fileFields().sweep({ now: Date.now() + (afterGrace ? GRACE + 1 : 0) });

    afterEach(async () => {
      await prisma?.$fileFields().stop();
    });

    beforeEach(async () => {
      await db.reset();
      storage = await kit.create();
      expect(await storage.save('tests/default.txt', new ContentFile('default content'))).toBe('tests/default.txt');
      ({ prisma, randomDirs } = extend(db, storage));
      probed = undefined;
      deletes = recordDeletes(storage, db);
      db.sql.length = 0;
    });

    /** How many rows of any file column name `name`, read with the unextended client. */
    async function references(name: string): Promise<number> {
      const where = { OR: [{ normal: name }, { default: name }, { random: name }] };
      return (await db.client.myStorage.count({ where })) + (await db.client.attachment.count({ where: { file: name } }));
    }

    function recordDeletes(target: Storage, database: TestDatabase): DeleteCall[] {
      const calls: DeleteCall[] = [];
      const original = target.deleteMany.bind(target);
      target.deleteMany = async (names: Iterable<string>) => {
        const list = [...names];
        for (const name of list) {
          if (probed && !probed.has(name)) calls.push({ name, existed: false, references: -1 });
          else calls.push({ name, existed: await target.exists(name), references: await referencesIn(database, name) });
        }
        return original(list);
      };
      return calls;
    }

    async function referencesIn(database: TestDatabase, name: string): Promise<number> {
      const where = { OR: [{ normal: name }, { default: name }, { random: name }] };
      return (await database.client.myStorage.count({ where })) + (await database.client.attachment.count({ where: { file: name } }));
    }

    async function storedColumns(id: number) {
      return db.client.myStorage.findUniqueOrThrow({ where: { id } });
    }

    /** Files in a storage directory (the upload directories the tests use). */
    async function filesIn(dir: string): Promise<string[]> {
      return (await storage.listdir(dir)).files;
    }

    describe('the seed doctest (Model)', () => {
      it('walks the django-storages scenario', async () => {
        // An object without a file has limited functionality.
        const obj1 = await prisma.myStorage.create({ data: {} });
        expect(obj1.normal).toBeInstanceOf(FieldFile);
        expect(inspect(obj1.normal)).toBe('<FieldFile: None>');
        await expect(obj1.normal.size()).rejects.toThrow(new NoFileError('normal'));
        await expect(obj1.normal.size()).rejects.toThrow("The 'normal' attribute has no file associated with it.");

        // Saving a file enables full functionality (and updates the row).
        expect(await obj1.normal.save('django_test.txt', new ContentFile('content'))).toBe('tests/django_test.txt');
        expect(inspect(obj1.normal)).toBe('<FieldFile: tests/django_test.txt>');
        expect((await storedColumns(obj1.id)).normal).toBe('tests/django_test.txt');
        expect(await obj1.normal.size()).toBe(7);
        expect(await text(obj1.normal)).toBe('content');

        // Files can be read a little at a time.
        obj1.normal.open();
        expect((await obj1.normal.read(3)).toString()).toBe('con');
        expect((await obj1.normal.read()).toString()).toBe('tent');
        expect(await join(obj1.normal.chunks(2), '-')).toBe('co-nt-en-t');
        await obj1.normal.close();

        // Save another file with the same name: a unique name.
        let obj2 = await prisma.myStorage.create({ data: {} });
        await obj2.normal.save('django_test.txt', new ContentFile('more content'));
        expect(obj2.normal.name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);
        expect(await obj2.normal.size()).toBe(12);

        // "Push the objects into the cache": JSON keeps the names, revive rebuilds FieldFiles.
        const cached = JSON.parse(JSON.stringify({ obj1, obj2 }));
        expect(cached.obj2.normal).toBe(obj2.normal.name);
        const revived = prisma.myStorage.revive(cached.obj2 as { id: number; normal: string });
        expect(revived.normal).toBeInstanceOf(FieldFile);
        expect(inspect(revived.normal)).toBe(`<FieldFile: ${obj2.normal.name}>`);
        expect(await revived.normal.size()).toBe(12);

        // Deleting an object deletes the file it uses, if no other object still uses it.
        const obj2File = obj2.normal.name!;
        await prisma.myStorage.delete({ where: { id: obj2.id } });
        await sweep();
        expect(await storage.exists(obj2File)).toBe(false);
        expect(await storage.exists('tests/django_test.txt')).toBe(true);
        obj2 = await prisma.myStorage.create({ data: {} });
        await obj2.normal.save('django_test.txt', new ContentFile('more content'));
        expect(obj2.normal.name).toMatch(/^tests\/django_test_[A-Za-z0-9]{7}\.txt$/);

        // Default values allow an object to access a single file...
        let obj3 = await prisma.myStorage.create({ data: {} });
        expect(inspect(obj3.default)).toBe('<FieldFile: tests/default.txt>');
        expect((await storedColumns(obj3.id)).default).toBe('tests/default.txt');
        expect(await text(obj3.default)).toBe('default content');
        // ...which is never deleted, even when no object uses it any more.
        await prisma.myStorage.deleteMany({});
        await sweep();
        expect(await storage.exists('tests/default.txt')).toBe(true);
        obj3 = await prisma.myStorage.create({ data: {} });
        expect(await text(obj3.default)).toBe('default content');

        // Ticket #5655: the upload directory is determined once.
        const obj4 = await prisma.myStorage.create({ data: {} });
        const stored = await obj4.random.save('random_file', new ContentFile('random content'));
        expect(randomDirs).toHaveLength(1);
        expect(stored).toBe(`${randomDirs[0]}/random_file`);
        expect(inspect(obj4.random)).toBe(`<FieldFile: ${randomDirs[0]}/random_file>`);
        expect(await text(obj4.random)).toBe('random content');

        // Clean up: FieldFile.delete() empties the column and releases the file, which the sweeper deletes.
        await obj4.random.delete();
        await sweep();
        expect(await storage.exists(stored)).toBe(false);
        expect((await storedColumns(obj4.id)).random).toBeNull();
      });
    });

    describe('results', () => {
      it('carry FieldFiles from find*, create, update, upsert and nested includes, without storage I/O', async () => {
        const owner = await prisma.myStorage.create({ data: { normal: 'tests/a.txt' } });
        await prisma.attachment.create({ data: { label: 'a', file: 'attachments/a.txt', ownerId: owner.id } });
        const io = ['exists', 'size', 'url', 'open', 'createReadStream', 'save', 'delete', 'listdir', 'modifiedTime'] as const;
        const spies = io.map((method) => jest.spyOn(storage, method));
        try {
          const found = await prisma.myStorage.findUniqueOrThrow({ where: { id: owner.id } });
          const many = await prisma.myStorage.findMany();
          const first = await prisma.myStorage.findFirstOrThrow({ select: { normal: true } });
          const updated = await prisma.myStorage.update({ where: { id: owner.id }, data: { random: 'r/x.txt' } });
          const upserted = await prisma.myStorage.upsert({ where: { id: owner.id }, create: {}, update: {} });
          const withOwner = await prisma.attachment.findFirstOrThrow({ include: { owner: true } });
          const withAttachments = await prisma.myStorage.findUniqueOrThrow({ where: { id: owner.id }, include: { attachments: true } });
          for (const file of [found.normal, many[0].normal, first.normal, updated.normal, upserted.normal, withOwner.owner!.normal]) {
            expect(file).toBeInstanceOf(FieldFile);
            expect(file.name).toBe('tests/a.txt');
          }
          expect(updated.random.name).toBe('r/x.txt');
          expect(found.default.name).toBe('tests/default.txt');
          expect(withOwner.file.name).toBe('attachments/a.txt');
          expect(withAttachments.attachments[0].file).toBeInstanceOf(FieldFile);
          // A select without the primary key still gets a FieldFile that can save its row.
          expect(Object.keys(first)).toEqual(['normal']);
          for (const spy of spies) expect(spy).not.toHaveBeenCalled();
          await first.normal.save('b.txt', new ContentFile('b'));
          expect((await storedColumns(owner.id)).normal).toBe('tests/b.txt');
        } finally {
          for (const spy of spies) spy.mockRestore();
        }
      });

      it("save({ save: false }) only uploads: the row keeps its name until it is written", async () => {
        const obj = await prisma.myStorage.create({ data: {} });
        const name = await obj.normal.save('draft.txt', new ContentFile('draft'), { save: false });
        expect(name).toBe('tests/draft.txt');
        expect(await storage.exists(name)).toBe(true);
        expect((await storedColumns(obj.id)).normal).toBeNull();
        await prisma.myStorage.update({ where: { id: obj.id }, data: { normal: obj.normal.name } });
        expect((await storedColumns(obj.id)).normal).toBe(name);
      });

      it("a FieldFile's name copies a file reference to another row", async () => {
        const source = await prisma.myStorage.create({ data: {} });
        await source.normal.save('shared.txt', new ContentFile('shared'));
        const copy = await prisma.myStorage.create({ data: { normal: source.normal.name } });
        expect(copy.normal.name).toBe('tests/shared.txt');
        expect(await text(copy.normal)).toBe('shared');
      });
    });

    describe('replacing a file', () => {
      it('deletes the replaced file after the row is updated (save and update data)', async () => {
        const obj = await prisma.myStorage.create({ data: {} });
        const first = await obj.normal.save('one.txt', new ContentFile('1'));
        const second = await obj.normal.save('two.txt', new ContentFile('2'));
        await sweep();
        expect(await storage.exists(first)).toBe(false);
        expect(await storage.exists(second)).toBe(true);
        await prisma.myStorage.update({ where: { id: obj.id }, data: { normal: null } });
        await sweep();
        expect(await storage.exists(second)).toBe(false);
        expect(deletes.map((call) => [call.name, call.references])).toEqual([
          [first, 0],
          [second, 0],
        ]);
      });

      it('keeps a replaced file that another row (of any model) still names, and writing the same name keeps it', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const name = await a.normal.save('shared.txt', new ContentFile('shared'));
        await prisma.attachment.create({ data: { label: 'x', file: name } });
        await prisma.myStorage.update({ where: { id: a.id }, data: { normal: name } });
        await a.normal.save('other.txt', new ContentFile('other'));
        await sweep();
        expect(await storage.exists(name)).toBe(true);
        await prisma.attachment.updateMany({ where: { label: 'x' }, data: { file: null } });
        await sweep();
        expect(await storage.exists(name)).toBe(false);
      });

      it('updateMany and upsert delete the names they replace; deleteReplaced: false keeps them', async () => {
        const rows = await Promise.all([1, 2].map(() => prisma.myStorage.create({ data: {} })));
        const names = [];
        for (const row of rows) names.push(await row.normal.save('many.txt', new ContentFile('m')));
        await prisma.myStorage.updateMany({ where: { id: { in: rows.map((row) => row.id) } }, data: { normal: 'tests/none.txt' } });
        await sweep();
        for (const name of names) expect(await storage.exists(name)).toBe(false);

        const up = await prisma.myStorage.create({ data: {} });
        const upName = await up.normal.save('up.txt', new ContentFile('u'));
        await prisma.myStorage.upsert({ where: { id: up.id }, create: {}, update: { normal: { set: null } } });
        await sweep();
        expect(await storage.exists(upName)).toBe(false);

        const keeping = db.client.$extends(
          fileFields({ myStorage: { normal: { uploadTo: 'tests', storage, deleteReplaced: false } } }, { sweeper: false, references: new ReferenceSources() }),
        );
        try {
          const kept = await keeping.myStorage.create({ data: {} });
          const keptName = await kept.normal.save('kept.txt', new ContentFile('k'));
          await kept.normal.save('kept.txt', new ContentFile('k2'));
          await keeping.$fileFields().sweep({ now: Date.now() + GRACE + 1 });
          expect(await storage.exists(keptName)).toBe(true);
          // FieldFile.delete() releases the file even so: it was asked for.
          await kept.normal.delete();
          await keeping.$fileFields().sweep();
          expect(await storage.exists(kept.normal.name ?? 'tests/kept_nothing.txt')).toBe(false);
        } finally {
          await keeping.$fileFields().stop();
        }
      });
    });

    describe('deletion', () => {
      it('a file shared by two rows survives the first delete and goes with the second', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const name = await a.normal.save('shared.txt', new ContentFile('shared'));
        const b = await prisma.myStorage.create({ data: { normal: name } });
        await prisma.myStorage.delete({ where: { id: a.id } });
        await sweep();
        expect(await storage.exists(name)).toBe(true);
        await prisma.myStorage.delete({ where: { id: b.id } });
        await sweep();
        expect(await storage.exists(name)).toBe(false);
        expect(deletes.filter((call) => call.name === name)).toEqual([{ name, existed: true, references: 0 }]);
      });

      it('a delete with select or omit still finds the files, and returns only what was asked', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const name = await a.normal.save('s.txt', new ContentFile('s'));
        const deleted = await prisma.myStorage.delete({ where: { id: a.id }, select: { id: true } });
        expect(deleted).toEqual({ id: a.id });
        await sweep();
        expect(await storage.exists(name)).toBe(false);

        const b = await prisma.myStorage.create({ data: {} });
        const other = await b.random.save('o.txt', new ContentFile('o'));
        const omitted = await prisma.myStorage.delete({ where: { id: b.id }, omit: { random: true } });
        expect('random' in omitted).toBe(false);
        await sweep();
        expect(await storage.exists(other)).toBe(false);
      });

      it('a failed delete deletes nothing', async () => {
        const owner = await prisma.myStorage.create({ data: {} });
        const name = await owner.normal.save('owned.txt', new ContentFile('o'));
        await prisma.attachment.create({ data: { label: 'child', ownerId: owner.id } });
        // The attachment's foreign key restricts deleting its owner.
        await expect(prisma.myStorage.delete({ where: { id: owner.id } })).rejects.toThrow();
        await expect(prisma.myStorage.deleteMany({ where: { id: owner.id } })).rejects.toThrow();
        await expect(prisma.myStorage.delete({ where: { id: owner.id + 1000 } })).rejects.toThrow();
        await sweep();
        expect(await storage.exists(name)).toBe(true);
        expect(deletes).toEqual([]);
      });

      it('a failed update deletes nothing', async () => {
        await prisma.attachment.create({ data: { label: 'taken' } });
        const attachment = await prisma.attachment.create({ data: { label: 'mine' } });
        const name = await attachment.file.save('mine.txt', new ContentFile('m'));
        await expect(prisma.attachment.update({ where: { id: attachment.id }, data: { label: 'taken', file: null } })).rejects.toThrow();
        await sweep(true);
        expect(await storage.exists(name)).toBe(true);
        expect((await db.client.attachment.findUniqueOrThrow({ where: { id: attachment.id } })).file).toBe(name);
      });

      it('deleteMany of 1,000 rows: the names read in pages of 1,000, one DELETE, the releases in batches; the sweep checks references per 500 names', async () => {
        const rows = 1000;
        await prisma.myStorage.createMany({ data: Array.from({ length: rows }, (_, i) => ({ normal: `tests/bulk-${i}.txt` })) });
        const kept = 'tests/bulk-7.txt';
        await prisma.attachment.create({ data: { label: 'keeps bulk-7', file: kept } });
        const sample = [0, 7, 500, 999].map((i) => `tests/bulk-${i}.txt`);
        for (const name of sample) await storage.save(name, new ContentFile(name));
        probed = new Set(sample);
        db.sql.length = 0;
        const { count } = await prisma.myStorage.deleteMany({});
        expect(count).toBe(rows);
        // (The transaction of its own is not counted: BEGIN, COMMIT, the MariaDB adapter's implicit COMMIT.)
        const statements = db.sql.filter((sql) => !/^(BEGIN|COMMIT|ROLLBACK|SET|START|-- Implicit)/i.test(sql.trim()));
        // A full page of 1,000 names, then an empty one that says it was the last.
        expect(statements.filter((sql) => /^SELECT/i.test(sql.trim()))).toHaveLength(2);
        expect(statements.filter((sql) => /^DELETE/i.test(sql.trim()))).toHaveLength(1);
        // The defaults are never released: 1,000 names, 200 per INSERT.
        expect(statements.filter((sql) => /^INSERT INTO filefield_tasks/i.test(sql.trim()))).toHaveLength(rows / 200);
        expect(statements.length).toBe(8);

        db.sql.length = 0;
        const report = await sweep();
        expect(report).toMatchObject({ deleted: rows - 1, kept: 1 });
        // Four columns use the storage (normal, default, random, Attachment.file); one query per column per 500 names.
        const referenceQueries = db.sql.filter((sql) => /^SELECT/i.test(sql.trim()) && !sql.includes('filefield_') && / IN \(/.test(sql));
        expect(referenceQueries).toHaveLength(4 * Math.ceil(rows / 500));
        expect(await storage.exists(kept)).toBe(true);
        for (const name of sample.filter((name) => name !== kept)) expect(await storage.exists(name)).toBe(false);
        expect(await storage.exists('tests/default.txt')).toBe(true);
        expect(deletes.filter((call) => call.existed).map((call) => call.name).sort()).toEqual(sample.filter((name) => name !== kept).sort());
      });
    });

    describe('extensions applied after fileFields() [issue 9, case 5]', () => {
      /** An audit extension applied after fileFields(): it records every update it sees, and fails those marked so after they ran. */
      function audited(client: ExtendedClient) {
        const seen: Array<{ model: string | undefined; data: unknown }> = [];
        const audit = client.$extends({
          query: {
            $allModels: {
              async update({ model, args, query }) {
                seen.push({ model, data: args.data });
                const result = await query(args);
                if ((args.data as { normal?: unknown }).normal === 'tests/refused-by-audit.txt') throw new Error('audit refused it');
                return result;
              },
            },
          },
        });
        return { audit, seen };
      }

      it("a write of a file column through a later extension runs its hooks, in the same transaction as the write's ledger statements", async () => {
        const { audit, seen } = audited(prisma);
        const row = await audit.myStorage.create({ data: {} });
        const first = await row.normal.save('first.txt', new ContentFile('first'));
        const second = await storage.save('tests/second.txt', new ContentFile('second'));
        await audit.myStorage.update({ where: { id: row.id }, data: { normal: second } });
        expect(seen).toEqual([{ model: 'MyStorage', data: { normal: second } }]);
        await sweep();
        expect(await storage.exists(first)).toBe(false);
        // The hook fails after the update ran: the update and its release roll back together.
        await storage.save('tests/refused-by-audit.txt', new ContentFile('refused'));
        await expect(audit.myStorage.update({ where: { id: row.id }, data: { normal: 'tests/refused-by-audit.txt' } })).rejects.toThrow('audit refused it');
        expect((await storedColumns(row.id)).normal).toBe(second);
        await sweep();
        expect(await storage.exists(second)).toBe(true);
      });

      it('row.field.save() and delete() update through the client given to persistThrough, so its hooks see them', async () => {
        const { audit, seen } = audited(prisma);
        expect(prisma.$fileFields().persistThrough(audit)).toBe(audit);
        const row = await audit.myStorage.create({ data: {} });
        const name = await row.normal.save('audited.txt', new ContentFile('audited'));
        expect(seen).toEqual([{ model: 'MyStorage', data: { normal: name } }]);
        await row.normal.delete();
        expect(seen).toEqual([
          { model: 'MyStorage', data: { normal: name } },
          { model: 'MyStorage', data: { normal: null } },
        ]);
        // Still the extension's ledger calls: the deleted file goes with the sweep.
        await sweep();
        expect(await storage.exists(name)).toBe(false);
      });

      it('without persistThrough row.field.save() updates through the client fileFields() returned; a client built elsewhere is refused', async () => {
        const { audit, seen } = audited(prisma);
        const row = await audit.myStorage.create({ data: {} });
        await row.normal.save('plain.txt', new ContentFile('plain'));
        expect(seen).toEqual([]);
        expect(() => prisma.$fileFields().persistThrough(db.client)).toThrow(/built on this fileFields\(\) extension/);
        const other = extend(db, storage).prisma;
        try {
          expect(() => prisma.$fileFields().persistThrough(other)).toThrow(/built on this fileFields\(\) extension/);
        } finally {
          await other.$fileFields().stop();
        }
      });
    });

    describe('nested writes that delete or replace related files [issue 9, case 5]', () => {
      async function ownerWithAttachments(...names: string[]) {
        const owner = await prisma.myStorage.create({ data: {} });
        const stored: string[] = [];
        for (const [index, name] of names.entries()) {
          stored.push(await storage.save(`attachments/${name}`, new ContentFile(name)));
          await prisma.attachment.create({ data: { label: `${name}-${index}-${randomSuffix()}`, file: stored[index], ownerId: owner.id } });
        }
        const attachments = await db.client.attachment.findMany({ where: { ownerId: owner.id }, orderBy: { id: 'asc' } });
        return { owner, stored, ids: attachments.map((row) => row.id) };
      }

      it('a nested delete, deleteMany and a nested update that replaces a name release those files after the commit', async () => {
        const { owner, stored, ids } = await ownerWithAttachments('gone.txt', 'many.txt', 'old.txt', 'kept.txt');
        const fresh = await storage.save('attachments/new.txt', new ContentFile('new'));
        await prisma.myStorage.update({
          where: { id: owner.id },
          data: {
            attachments: {
              delete: { id: ids[0] },
              deleteMany: { id: ids[1] },
              update: { where: { id: ids[2] }, data: { file: fresh } },
            },
          },
        });
        await sweep();
        expect(await Promise.all(stored.map((name) => storage.exists(name)))).toEqual([false, false, false, true]);
        expect(await storage.exists(fresh)).toBe(true);
        expect(deletes.map((call) => call.references)).toEqual([0, 0, 0]);
      });

      it('a nested delete inside a rolled-back transaction, or of a file another row names, deletes nothing', async () => {
        const { owner, stored, ids } = await ownerWithAttachments('shared.txt', 'rolled.txt');
        await prisma.attachment.create({ data: { label: `copy-${randomSuffix()}`, file: stored[0] } });
        await prisma.myStorage.update({ where: { id: owner.id }, data: { attachments: { delete: { id: ids[0] } } } });
        await expect(
          prisma.$transaction(async (tx) => {
            await tx.myStorage.update({ where: { id: owner.id }, data: { attachments: { delete: { id: ids[1] } } } });
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        await sweep();
        expect(await storage.exists(stored[0])).toBe(true);
        expect(await storage.exists(stored[1])).toBe(true);
        expect(await db.client.attachment.count({ where: { id: ids[1] } })).toBe(1);
      });

      it('set and disconnect only unlink rows: their files stay', async () => {
        const { owner, stored, ids } = await ownerWithAttachments('unlinked.txt', 'set-away.txt');
        await prisma.myStorage.update({ where: { id: owner.id }, data: { attachments: { disconnect: { id: ids[0] } } } });
        await prisma.myStorage.update({ where: { id: owner.id }, data: { attachments: { set: [] } } });
        await sweep();
        expect(await storage.exists(stored[0])).toBe(true);
        expect(await storage.exists(stored[1])).toBe(true);
      });
    });

    describe('transactions', () => {
      it('an interactive $transaction deletes files only after it commits', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const name = await a.normal.save('tx.txt', new ContentFile('tx'));
        await prisma.$transaction(async (tx) => {
          await tx.myStorage.delete({ where: { id: a.id } });
          expect(await storage.exists(name)).toBe(true);
        });
        await sweep();
        expect(await storage.exists(name)).toBe(false);
      });

      it('a rolled-back $transaction deletes nothing; what save() uploaded in it goes after the grace period', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const original = await a.normal.save('keep.txt', new ContentFile('keep'));
        let uploaded = '';
        await expect(
          prisma.$transaction(async (tx) => {
            const row = await tx.myStorage.findUniqueOrThrow({ where: { id: a.id } });
            uploaded = await row.normal.save('new.txt', new ContentFile('new'));
            await tx.myStorage.deleteMany({});
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(uploaded).toBe('tests/new.txt');
        await sweep();
        expect(await storage.exists(uploaded)).toBe(true);
        await sweep(true);
        expect(await storage.exists(uploaded)).toBe(false);
        expect(await storage.exists(original)).toBe(true);
        expect((await storedColumns(a.id)).normal).toBe(original);
      });

      it('a write through the outer client inside a $transaction callback is released (on SQLite it is part of the transaction)', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const name = await a.normal.save('outer.txt', new ContentFile('outer'));
        await prisma.$transaction(async () => {
          await prisma.myStorage.delete({ where: { id: a.id } });
        });
        await sweep();
        expect(await storage.exists(name)).toBe(false);
      });

      it('a batch $transaction([...]) deletes after it commits, and nothing when it fails', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const b = await prisma.myStorage.create({ data: {} });
        const aName = await a.normal.save('a.txt', new ContentFile('a'));
        const bName = await b.normal.save('b.txt', new ContentFile('b'));
        await prisma.attachment.create({ data: { label: 'taken' } });
        await expect(
          prisma.$transaction([prisma.myStorage.delete({ where: { id: a.id } }), prisma.attachment.create({ data: { label: 'taken' } })]),
        ).rejects.toThrow();
        await sweep();
        expect(await storage.exists(aName)).toBe(true);
        expect(await db.client.myStorage.count({ where: { id: a.id } })).toBe(1);
        await prisma.$transaction([prisma.myStorage.delete({ where: { id: a.id } }), prisma.myStorage.deleteMany({ where: { id: b.id } })]);
        await sweep();
        expect(await storage.exists(aName)).toBe(false);
        expect(await storage.exists(bName)).toBe(false);
      });

      it('nested transactions: a rolled-back inner delete deletes nothing; the outer commit decides', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const b = await prisma.myStorage.create({ data: {} });
        const aName = await a.normal.save('a.txt', new ContentFile('a'));
        const bName = await b.normal.save('b.txt', new ContentFile('b'));
        await prisma.$transaction(async (tx) => {
          await expect(
            tx.$transaction(async (inner) => {
              await inner.myStorage.delete({ where: { id: a.id } });
              throw new Error('inner roll back');
            }),
          ).rejects.toThrow('inner roll back');
          await tx.$transaction(async (inner) => {
            await inner.myStorage.delete({ where: { id: b.id } });
          });
          expect(await storage.exists(bName)).toBe(true);
        });
        await sweep();
        expect(await storage.exists(aName)).toBe(true);
        expect(await storage.exists(bName)).toBe(false);
        expect(await db.client.myStorage.count({ where: { id: a.id } })).toBe(1);
      });

      it('a committed inner delete waits for the outer transaction, which may still roll back', async () => {
        const a = await prisma.myStorage.create({ data: {} });
        const aName = await a.normal.save('a.txt', new ContentFile('a'));
        await expect(
          prisma.$transaction(async (tx) => {
            await tx.$transaction(async (inner) => {
              await inner.myStorage.delete({ where: { id: a.id } });
            });
            throw new Error('outer roll back');
          }),
        ).rejects.toThrow('outer roll back');
        await sweep(true);
        expect(await storage.exists(aName)).toBe(true);
        expect(await db.client.myStorage.count({ where: { id: a.id } })).toBe(1);
      });
    });

    describe('the background sweeper (the default)', () => {
      it('a commit starts a sweep: after an autocommitted delete, an interactive and a batch transaction, idle() waits for it', async () => {
        const background = db.client.$extends(
          fileFields({ myStorage: { normal: { uploadTo: 'tests', storage } } }, { references: new ReferenceSources(), sweeper: { interval: 3_600_000 } }),
        );
        try {
          const handle = background.$fileFields();
          const names: string[] = [];
          const rows: Array<{ id: number }> = [];
          for (let i = 0; i < 3; i += 1) {
            const row = await background.myStorage.create({ data: {} });
            names.push(await row.normal.save(`background-${i}.txt`, new ContentFile('b')));
            rows.push(row);
          }
          await background.myStorage.delete({ where: { id: rows[0].id } });
          await handle.idle();
          expect(await storage.exists(names[0])).toBe(false);
          await background.$transaction(async (tx) => {
            await tx.myStorage.delete({ where: { id: rows[1].id } });
          });
          await handle.idle();
          expect(await storage.exists(names[1])).toBe(false);
          await background.$transaction([background.myStorage.delete({ where: { id: rows[2].id } })]);
          await handle.idle();
          expect(await storage.exists(names[2])).toBe(false);
        } finally {
          await background.$fileFields().stop();
        }
      });
    });

    describe('concurrency', () => {
      it('a file shared by many rows deleted in parallel is deleted once, after its last reference', async () => {
        const first = await prisma.myStorage.create({ data: {} });
        const name = await first.normal.save('parallel.txt', new ContentFile('p'));
        const others = await Promise.all(Array.from({ length: 5 }, () => prisma.myStorage.create({ data: { normal: name } })));
        const ids = [first.id, ...others.map((row) => row.id)];
        await Promise.all(ids.map((id, i) => (i % 2 === 0 ? prisma.myStorage.delete({ where: { id } }) : prisma.$transaction((tx) => tx.myStorage.delete({ where: { id } })))));
        await sweep();
        expect(await storage.exists(name)).toBe(false);
        const calls = deletes.filter((call) => call.name === name);
        expect(calls.filter((call) => call.existed)).toHaveLength(1);
        for (const call of calls) expect(call.references).toBe(0);
      });
    });

    describe('bad input', () => {
      it.each([
        ['../escape.txt', 'path traversal'],
        ['/etc/passwd', 'path traversal'],
        ['a\u0000b.txt', 'NUL'],
        ['dir\\name.txt', 'backslash'],
      ])('save(%j) fails with SuspiciousFileOperation: nothing uploaded, row unchanged', async (badName) => {
        const obj = await prisma.myStorage.create({ data: {} });
        const error = await obj.normal.save(badName, new ContentFile('x')).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(SuspiciousFileOperation);
        expect((error as FileFieldError).code).toBe('E_SUSPICIOUS_NAME');
        expect((await storedColumns(obj.id)).normal).toBeNull();
        expect(await filesIn('tests')).toEqual(['default.txt']);
      });

      it('a bad name in create/update data is refused before the query: no row written', async () => {
        const obj = await prisma.myStorage.create({ data: { normal: 'tests/good.txt' } });
        await expect(prisma.myStorage.update({ where: { id: obj.id }, data: { normal: '../../etc/passwd' } })).rejects.toThrow(SuspiciousFileOperation);
        await expect(prisma.myStorage.create({ data: { random: '/abs.txt' } })).rejects.toThrow(SuspiciousFileOperation);
        await expect(prisma.myStorage.createMany({ data: [{ normal: 'ok.txt' }, { normal: 'x/../../y' }] })).rejects.toThrow(SuspiciousFileOperation);
        expect(await db.client.myStorage.count()).toBe(1);
        expect((await storedColumns(obj.id)).normal).toBe('tests/good.txt');
      });

      it('names in nested writes are checked too, and names that do not fit the column are a typed error [issue 9, case 5]', async () => {
        await expect(
          prisma.myStorage.create({ data: { attachments: { create: [{ label: 'nested', file: '../../etc/passwd' }] } } }),
        ).rejects.toBeInstanceOf(SuspiciousFileOperation);
        const owner = await prisma.myStorage.create({ data: {} });
        await expect(
          prisma.myStorage.update({ where: { id: owner.id }, data: { attachments: { create: { label: 'deep', file: 'a/./b.txt' } } } }),
        ).rejects.toBeInstanceOf(SuspiciousFileOperation);
        await expect(prisma.attachment.create({ data: { label: 'up', owner: { create: { normal: '/abs.txt' } } } })).rejects.toBeInstanceOf(SuspiciousFileOperation);
        const nested = [
          { connectOrCreate: { where: { label: 'c' }, create: { label: 'c', file: '../c.txt' } } },
          { createMany: { data: [{ label: 'm', file: 'm/../../m.txt' }] } },
          { upsert: { where: { label: 'u' }, create: { label: 'u', file: 'ok.txt' }, update: { file: 'u//u.txt' } } },
          { updateMany: { where: { label: 'none' }, data: { file: './u.txt' } } },
        ];
        for (const attachments of nested) {
          await expect(prisma.myStorage.update({ where: { id: owner.id }, data: { attachments } as never })).rejects.toBeInstanceOf(SuspiciousFileOperation);
        }
        const tooLong = `tests/${'x'.repeat(101)}.txt`;
        const error = await prisma.myStorage.create({ data: { normal: tooLong } }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(FileNameTooLongError);
        expect((error as FileFieldError).code).toBe('E_NAME_TOO_LONG');
        expect(await db.client.attachment.count()).toBe(0);
        expect(await db.client.myStorage.count()).toBe(1);
      });

      it('a name written by a nested create is referenced: the file survives its first row [issue 9, case 5]', async () => {
        const first = await prisma.myStorage.create({ data: {} });
        const name = await first.normal.save('nested-copy.txt', new ContentFile('n'));
        await prisma.myStorage.create({ data: { attachments: { create: { label: 'copy', file: name } } } });
        await prisma.myStorage.delete({ where: { id: first.id } });
        await sweep(true);
        expect(await storage.exists(name)).toBe(true);
      });

      it('file content in create/update data is a typed error that says how to upload', async () => {
        const error = await prisma.myStorage
          .create({ data: { normal: new ContentFile('x', 'x.txt') as unknown as string } })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(FileColumnValueError);
        expect((error as FileFieldError).code).toBe('E_FILE_COLUMN_VALUE');
        expect((error as Error).message).toContain('MyStorage#normal');
        expect((error as Error).message).toContain('save(name, content)');
        expect(await db.client.myStorage.count()).toBe(0);
      });

      it('save() on a row deleted meanwhile fails with RowNotFoundError, and the sweeper deletes its upload', async () => {
        const obj = await prisma.myStorage.create({ data: {} });
        await db.client.myStorage.delete({ where: { id: obj.id } });
        const error = await obj.normal.save('late.txt', new ContentFile('late')).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(RowNotFoundError);
        expect((error as FileFieldError).code).toBe('E_ROW_NOT_FOUND');
        expect(obj.normal.name).toBeNull();
        await sweep();
        expect(await storage.exists('tests/late.txt')).toBe(false);
      });
    });
  });
}
