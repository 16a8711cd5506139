/**
 * A TypeORM DataSource with filefield installed (SQLite in memory, or the shared PostgreSQL), an
 * entity with one file field on a given storage, and a look at the ledger rows of that storage
 * (the ledger tables are shared by every suite on PostgreSQL: rows are told apart by storage id).
 */
import type { FieldFile, Storage } from '@filefield/core';
import { FILES_TABLE, randomSuffix } from '@filefield/core';
import { FileField, createFileFieldLedger, installFileFields, type FileFieldsInstallation } from '@filefield/typeorm';
import { DataSource, Entity, PrimaryGeneratedColumn, Column } from 'typeorm';
import { serviceUrls } from '../../../../test-support/services';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface LifecycleWorld {
  dataSource: DataSource;
  installation: FileFieldsInstallation;
  Profile: new () => { id: number; owner: string; avatar: FieldFile; cv: FieldFile };
  /** This storage's ledger rows: name, state, and whether its claim has expired by now. */
  ledgerRows(): Promise<Array<{ name: string; state: string; claimExpired: boolean | null }>>;
  close(): Promise<void>;
}

export async function openWorld(kind: DatabaseKind, storage: Storage): Promise<LifecycleWorld> {
  const table = `ff_web_${randomSuffix(6).toLowerCase()}_profile`;
  @Entity(table)
  class Profile {
    @PrimaryGeneratedColumn() id!: number;
    @Column({ type: 'varchar', length: 50, default: '' }) owner!: string;
    @FileField({ storage, uploadTo: 'avatars' }) avatar!: FieldFile;
    @FileField({ storage, uploadTo: 'cvs' }) cv!: FieldFile;
  }
  const dataSource = new DataSource({
    ...(kind === 'sqlite' ? { type: 'better-sqlite3', database: ':memory:' } : { type: 'postgres', url: serviceUrls.postgres, poolSize: 5 }),
    entities: [Profile],
    synchronize: true,
  } as never);
  await dataSource.initialize();
  await createFileFieldLedger(dataSource);
  // The tests sweep when they mean to: no background passes.
  const installation = installFileFields(dataSource, { sweeper: false });
  return {
    dataSource,
    installation,
    Profile,
    async ledgerRows() {
      const param = kind === 'postgres' ? '$1' : '?';
      const rows: Array<{ name: string; state: string; claim_expires_at: string | number | null }> = await dataSource.query(
        `SELECT name, state, claim_expires_at FROM ${FILES_TABLE} WHERE storage_id = ${param} ORDER BY name`,
        [storage.id],
      );
      const now = Date.now();
      return rows.map((row) => ({ name: row.name, state: row.state, claimExpired: row.claim_expires_at === null ? null : Number(row.claim_expires_at) <= now }));
    },
    async close() {
      await installation.uninstall();
      if (kind === 'postgres') await dataSource.query(`DROP TABLE IF EXISTS "${table}"`);
      await dataSource.destroy();
    },
  };
}
