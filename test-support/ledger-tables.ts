/**
 * filefield's ledger tables on the shared test servers, made afresh once by the Jest global setup
 * (dropped first: an earlier run, maybe of an older schema, may have left them; the run lock keeps
 * a concurrent run from doing so under this one, see run-lock.ts). Every suite on
 * PostgreSQL or MariaDB uses the same two tables (rows are told apart by storage id), and creating
 * them from parallel workers would race in PostgreSQL's catalog.
 */
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { FILES_TABLE, TASKS_TABLE, ledgerSchema } from '../packages/core/src/lifecycle/ledger-schema';
import { type ServiceName, serviceUrls } from './services';

export async function createLedgerTablesOnServers(found: Record<ServiceName, boolean>): Promise<void> {
  if (found.postgres) {
    const client = new Client({ connectionString: serviceUrls.postgres });
    await client.connect();
    try {
      for (const statement of [...drops(), ...ledgerSchema('postgres')]) await client.query(statement);
    } finally {
      await client.end();
    }
  }
  if (found.mariadb) {
    const connection = await mysql.createConnection(serviceUrls.mariadb.replace(/^mariadb:/, 'mysql:'));
    try {
      for (const statement of [...drops(), ...ledgerSchema('mysql')]) await connection.query(statement);
    } finally {
      await connection.end();
    }
  }
}

function drops(): string[] {
  return [`DROP TABLE IF EXISTS ${TASKS_TABLE}`, `DROP TABLE IF EXISTS ${FILES_TABLE}`];
}
