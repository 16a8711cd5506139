/**
 * The ledger's SQL migrations checked into prisma/ (and the quick start's copy) are the core's
 * `ledgerSchema()`, statement for statement, so the schema Prisma users copy is the one the
 * extension's raw statements expect.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ledgerSchema } from '@filefield/core';

const root = join(__dirname, '../../..');
const MIGRATION = '20261201000000_filefield_ledger/migration.sql';

function statements(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement !== '');
}

it.each([
  ['prisma/postgresql/migrations', 'postgres'],
  ['prisma/mysql/migrations', 'mysql'],
  ['prisma/sqlite/migrations', 'sqlite'],
  ['examples/prisma-quickstart/prisma/migrations', 'sqlite'],
] as const)('%s holds ledgerSchema(%j)', (dir, dialect) => {
  expect(statements(join(root, dir, MIGRATION))).toEqual(ledgerSchema(dialect));
});
