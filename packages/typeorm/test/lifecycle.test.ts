/**
 * The shared file-lifecycle suite (@filefield/core/testing) on TypeORM: SQLite (a file, so that
 * crash-test children can open it), PostgreSQL and MariaDB, each on the filesystem driver and on
 * S3 (s3rver in-process, radosgw in CI) with a fault proxy for the hung and failing storage cases.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLifecycleOnStorages } from '../../../test-support/lifecycle-storages';
import { describeEachDatabase } from './support/databases';
import { typeOrmLifecycleAdapter } from './support/lifecycle-world';

describeEachDatabase('TypeORM', (kind) => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'filefield-typeorm-db-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  describeLifecycleOnStorages(`TypeORM [${kind}]`, `lifecycle-${kind}`, (spec) => typeOrmLifecycleAdapter(kind, spec, () => join(dir, 'lifecycle.db')));
});
