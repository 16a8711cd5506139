/**
 * filefield's ledger tables for TypeORM, two ways: entities (add `fileFieldLedgerEntities` to the
 * DataSource's `entities`, then `synchronize` or `migration:generate` creates them), or the
 * ready-made migration `FileFieldLedger1764547200000`, which runs the core's DDL. The core's
 * statements name the tables and columns directly; both ways give them the same shape.
 */
import { FILES_TABLE, TASKS_TABLE, ledgerSchema } from '@filefield/core';
import { Column, type DataSource, Entity, Index, type MigrationInterface, PrimaryColumn, type QueryRunner } from 'typeorm';
import { ledgerDialect } from './ledger-database';

/** A file name the ledger knows: claimed, referenced, being checked or deleted, or a tombstone. */
@Entity(FILES_TABLE)
@Index(`${FILES_TABLE}_claim_idx`, ['claimExpiresAt'])
@Index(`${FILES_TABLE}_lease_idx`, ['state', 'leaseUntil'])
export class FileFieldFileRecord {
  @PrimaryColumn({ name: 'file_key', type: 'varchar', length: 64 }) fileKey!: string;
  @Column({ name: 'storage_id', type: 'varchar', length: 255 }) storageId!: string;
  @Column({ name: 'name', type: 'varchar', length: 1024 }) name!: string;
  @Column({ name: 'state', type: 'varchar', length: 16 }) state!: string;
  @Column({ name: 'claim_expires_at', type: 'bigint', nullable: true }) claimExpiresAt!: string | null;
  @Column({ name: 'lease_token', type: 'varchar', length: 64, nullable: true }) leaseToken!: string | null;
  @Column({ name: 'lease_until', type: 'bigint', nullable: true }) leaseUntil!: string | null;
  @Column({ name: 'attempts', type: 'int', default: 0 }) attempts!: number;
  @Column({ name: 'last_error', type: 'varchar', length: 1000, nullable: true }) lastError!: string | null;
  @Column({ name: 'updated_at', type: 'bigint' }) updatedAt!: string;
}

/** "Check this file once due": written in the transaction that removed or replaced it. */
@Entity(TASKS_TABLE)
@Index(`${TASKS_TABLE}_due_idx`, ['storageId', 'dueAt'])
@Index(`${TASKS_TABLE}_key_idx`, ['fileKey'])
export class FileFieldTaskRecord {
  @PrimaryColumn({ name: 'id', type: 'varchar', length: 36 }) id!: string;
  @Column({ name: 'file_key', type: 'varchar', length: 64 }) fileKey!: string;
  @Column({ name: 'storage_id', type: 'varchar', length: 255 }) storageId!: string;
  @Column({ name: 'name', type: 'varchar', length: 1024 }) name!: string;
  @Column({ name: 'reason', type: 'varchar', length: 16 }) reason!: string;
  @Column({ name: 'due_at', type: 'bigint' }) dueAt!: string;
  @Column({ name: 'created_at', type: 'bigint' }) createdAt!: string;
}

/** Add these to the DataSource's `entities` to let TypeORM create the ledger tables. */
export const fileFieldLedgerEntities = [FileFieldFileRecord, FileFieldTaskRecord];

/** The ledger tables as a TypeORM migration (idempotent: the tables may already exist). */
export class FileFieldLedger1764547200000 implements MigrationInterface {
  readonly name = 'FileFieldLedger1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const statement of ledgerSchema(ledgerDialect(queryRunner.connection))) await queryRunner.query(statement);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS ${TASKS_TABLE}`);
    await queryRunner.query(`DROP TABLE IF EXISTS ${FILES_TABLE}`);
  }
}

/** Create the ledger tables now, if they do not exist (quick starts, tests, scripts). */
export async function createFileFieldLedger(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await new FileFieldLedger1764547200000().up(runner);
  } finally {
    await runner.release();
  }
}
