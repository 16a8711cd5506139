/**
 * The apps the CLI runs against, built by the test: a database (SQLite file, or the shared
 * PostgreSQL / MariaDB servers, gated and required as every server suite is), a storage
 * (filesystem, or s3rver in-process) with an id of this test's own (the ledger tables on the
 * servers are shared, rows are told apart by storage id), and the TypeORM model of
 * fixtures/typeorm-model.ts installed with no sweeper. The CLI child reaches the same world
 * through FILEFIELD_CLI_WORLD.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Storage, randomSuffix } from '@filefield/core';
import { startS3rver, type S3rverHandle } from '@filefield/s3/testing';
import { createFileFieldLedger, type FileFieldsInstallation, installFileFields } from '@filefield/typeorm';
import { DataSource } from 'typeorm';
import { describeWith, serviceUrls } from '../../../../test-support/services';
import { buildStorage, type StorageSpec } from '../../../../test-support/storage-spec';
import { defineModel } from '../fixtures/typeorm-model';
import type { World } from '../fixtures/world';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mariadb';
export type StorageKind = 'filesystem' | 's3';

export interface TestWorld {
  readonly world: World;
  readonly dataSource: DataSource;
  readonly files: FileFieldsInstallation;
  readonly storage: Storage;
  readonly Doc: ReturnType<typeof defineModel>['Doc'];
  /** A world for the CLI with another storage spec (same id): e.g. an unreachable endpoint. */
  withStorage(spec: StorageSpec): World;
  /** Set an object's modification time `ms` into the past, as if it had been stored then. */
  age(name: string, ms: number): void;
  close(): Promise<void>;
}

/** `body` on SQLite + filesystem, PostgreSQL + s3rver and MariaDB + s3rver. */
export function describeEachWorld(title: string, body: (open: () => Promise<TestWorld>, kind: DatabaseKind) => void): void {
  describe(`${title} [sqlite × filesystem]`, () => body(() => openWorld('sqlite', 'filesystem'), 'sqlite'));
  describeWith('postgres', `${title} [postgres × s3rver]`, () => body(() => openWorld('postgres', 's3'), 'postgres'));
  describeWith('mariadb', `${title} [mariadb × s3rver]`, () => body(() => openWorld('mariadb', 's3'), 'mariadb'));
}

export async function openWorld(kind: DatabaseKind, storageKind: StorageKind, options: { gracePeriod?: number } = {}): Promise<TestWorld> {
  const scratch = mkdtempSync(join(tmpdir(), 'filefield-cli-world-'));
  const suffix = randomSuffix(8).toLowerCase();
  const prefix = `ff_cli_${suffix}`;
  let s3: S3rverHandle | undefined;
  let spec: StorageSpec;
  if (storageKind === 's3') {
    s3 = await startS3rver();
    spec = { kind: 's3', options: s3.storageOptions({ id: `cli-test:${suffix}`, location: `cli-${suffix}`, fileOverwrite: false }) };
  } else {
    spec = { kind: 'filesystem', location: join(scratch, 'media') };
  }
  const connection: Record<string, unknown> =
    kind === 'sqlite' ? { type: 'better-sqlite3', database: join(scratch, 'app.sqlite') } : { type: kind, url: kind === 'postgres' ? serviceUrls.postgres : serviceUrls.mariadb };
  const world: World = { connection, prefix, storage: spec, gracePeriod: options.gracePeriod };
  const storage = buildStorage(spec);
  const { Doc, entities } = defineModel(prefix, storage);
  const dataSource = await new DataSource({ ...connection, entities, synchronize: true } as never).initialize();
  // The servers' ledger tables come from the Jest global setup; a SQLite file needs its own.
  if (kind === 'sqlite') await createFileFieldLedger(dataSource);
  const files = installFileFields(dataSource, { sweeper: false, gracePeriod: options.gracePeriod });
  return {
    world,
    dataSource,
    files,
    storage,
    Doc,
    withStorage: (other) => ({ ...world, storage: other }),
    age(name, ms) {
      const path =
        spec.kind === 'filesystem' ? join(spec.location, name) : join(s3!.directory, s3!.bucket, ...`${spec.options.location}/${name}`.split('/').slice(0, -1), `${name.split('/').pop()}._S3rver_object`);
      const then = new Date(Date.now() - ms);
      utimesSync(path, then, then);
    },
    async close() {
      await files.uninstall();
      const runner = dataSource.createQueryRunner();
      try {
        await runner.dropTable(`${prefix}_doc`, true);
      } finally {
        await runner.release();
        await dataSource.destroy();
      }
      await s3?.stop();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
