/**
 * `filefield ledger schema --dialect …`: the ledger's DDL (the core's ledgerSchema), for teams
 * that write their migrations by hand. Needs no config. Every statement is idempotent.
 */
import { ledgerSchema, type SqlDialect } from '@filefield/core';
import { print } from '../output';

export const DIALECTS: readonly SqlDialect[] = ['postgres', 'mysql', 'sqlite'];

export function ledgerSchemaCommand(dialect: SqlDialect): number {
  print(`-- filefield ledger tables (${dialect}); every statement is idempotent`);
  for (const statement of ledgerSchema(dialect)) print(`${statement};\n`);
  return 0;
}
