/**
 * What the TypeORM bench loads: 10k rows of an entity with two @FileField columns, and the same
 * rows of an entity with two plain varchar columns — each in its own DataSource, the plain one
 * without filefield installed (TypeORM alone), the other with it.
 */
import { type FieldFile, MemoryStorage, randomSuffix } from '@filefield/core';
import { FileField, installFileFields } from '@filefield/typeorm';
import { Column, DataSource, type DataSourceOptions, Entity, Index, type ObjectLiteral, PrimaryGeneratedColumn } from 'typeorm';

export const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const prefix = `ff_typeorm_bench_${randomSuffix(5).toLowerCase()}`;

/** Nothing is ever stored: any storage call while loading would fail with FileNotFoundError. */
export const storage = new MemoryStorage();

@Entity(`${prefix}_plain`)
class PlainRow {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 100 }) title!: string;
  @Index() @Column({ type: 'varchar', length: 100, nullable: true }) avatar!: string | null;
  @Index() @Column({ type: 'varchar', length: 100, nullable: true }) resume!: string | null;
}

@Entity(`${prefix}_files`)
class FileRow {
  @PrimaryGeneratedColumn() id!: number;
  @Column({ type: 'varchar', length: 100 }) title!: string;
  @FileField({ storage, uploadTo: 'avatars' }) avatar!: FieldFile;
  @FileField({ storage, uploadTo: 'resumes' }) resume!: FieldFile;
}

export type Variant = 'plain' | 'files';

export interface Scenario {
  name: string;
  /** What is done with the loaded rows (timed with the load). */
  use(rows: ObjectLiteral[]): number;
}

export const scenarios: Record<string, Scenario> = {
  load: { name: 'find()', use: (rows) => rows.length },
  names: {
    name: 'find() + read both names',
    use: (rows) => rows.reduce((total, row) => total + nameOf(row.avatar).length + nameOf(row.resume).length, 0),
  },
  json: { name: 'find() + JSON.stringify', use: (rows) => JSON.stringify(rows).length },
};

function nameOf(value: string | FieldFile | null): string {
  return (typeof value === 'string' || value === null ? value : value.name) ?? '';
}

export function connection(database: string): DataSourceOptions {
  switch (database) {
    case 'sqlite':
      return { type: 'better-sqlite3', database: ':memory:' };
    case 'postgres':
      return { type: 'postgres', url: process.env.FILEFIELD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' };
    case 'mariadb':
      return { type: 'mariadb', url: process.env.FILEFIELD_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test' };
    default:
      throw new Error(`unknown database '${database}' (sqlite, postgres, mariadb)`);
  }
}

export interface Fixture {
  load(variant: Variant, scenario: Scenario): Promise<number>;
  close(): Promise<void>;
}

export async function openFixture(database: string): Promise<Fixture> {
  const sources = {
    plain: new DataSource({ ...connection(database), entities: [PlainRow], synchronize: true }),
    files: new DataSource({ ...connection(database), entities: [FileRow], synchronize: true }),
  };
  await sources.plain.initialize();
  await sources.files.initialize();
  installFileFields(sources.files);
  const targets = { plain: PlainRow, files: FileRow };
  for (const variant of ['plain', 'files'] as const) {
    const values = Array.from({ length: ROWS }, (_, i) => ({ title: `row ${i}`, avatar: `avatars/user-${i}.png`, resume: `resumes/user-${i}.pdf` }));
    for (let start = 0; start < values.length; start += 500) {
      await sources[variant].createQueryBuilder().insert().into(targets[variant]).values(values.slice(start, start + 500)).updateEntity(false).execute();
    }
  }
  return {
    async load(variant, scenario) {
      const rows: ObjectLiteral[] = await sources[variant].getRepository<ObjectLiteral>(targets[variant]).find();
      if (rows.length !== ROWS) throw new Error(`loaded ${rows.length} rows, expected ${ROWS}`);
      return scenario.use(rows);
    },
    async close() {
      for (const variant of ['plain', 'files'] as const) {
        const source = sources[variant];
        if (database !== 'sqlite') {
          const runner = source.createQueryRunner();
          await runner.dropTable(source.getMetadata(targets[variant]).tablePath, true);
          await runner.release();
        }
        await source.destroy();
      }
      if (storage.names().length !== 0) throw new Error('the bench wrote to the storage');
    },
  };
}
