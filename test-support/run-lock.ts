/**
 * One test run at a time per database server. Every run drops and re-creates the shared tables
 * (the ledger's and the suites' own), so a second `npm test` started beside the first would pull
 * them away from its workers. The Jest global setup takes a server-wide lock (a PostgreSQL
 * advisory lock, a MariaDB named lock) on a connection it keeps open until the global teardown; a
 * second run waits for it, saying so. The lock goes with the connection, so a killed run frees it.
 */
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { type ServiceName, serviceUrls } from './services';

const LOCK_NAME = 'filefield-test-run';
/** How long a run waits for another one to finish, in seconds (CI runs alone; a developer's runs queue). */
const WAIT_SECONDS = 3600;

export interface RunLock {
  release(): Promise<void>;
}

export async function lockTestServers(found: Record<ServiceName, boolean>): Promise<RunLock> {
  const releases: Array<() => Promise<void>> = [];
  try {
    if (found.postgres) releases.push(await lockPostgres());
    if (found.mariadb) releases.push(await lockMariaDb());
  } catch (error) {
    for (const release of releases) await release();
    throw error;
  }
  return {
    async release() {
      for (const release of releases) await release().catch(() => undefined);
    },
  };
}

async function lockPostgres(): Promise<() => Promise<void>> {
  const client = new Client({ connectionString: serviceUrls.postgres });
  await client.connect();
  const key = `hashtext('${LOCK_NAME}')`;
  const { rows } = await client.query(`SELECT pg_try_advisory_lock(${key}) AS locked`);
  if (!rows[0].locked) {
    waiting('PostgreSQL');
    await client.query(`SET statement_timeout = ${WAIT_SECONDS * 1000}`);
    await client.query(`SELECT pg_advisory_lock(${key})`);
    await client.query('SET statement_timeout = 0');
  }
  return () => client.end();
}

async function lockMariaDb(): Promise<() => Promise<void>> {
  const connection = await mysql.createConnection(serviceUrls.mariadb.replace(/^mariadb:/, 'mysql:'));
  const [immediate] = (await connection.query('SELECT GET_LOCK(?, 0) AS locked', [LOCK_NAME])) as unknown as [Array<{ locked: number }>];
  if (immediate[0].locked !== 1) {
    waiting('MariaDB');
    const [waited] = (await connection.query('SELECT GET_LOCK(?, ?) AS locked', [LOCK_NAME, WAIT_SECONDS])) as unknown as [Array<{ locked: number }>];
    if (waited[0].locked !== 1) {
      await connection.end();
      throw new Error(`Another test run held the MariaDB test lock for ${WAIT_SECONDS} s.`);
    }
  }
  return () => connection.end();
}

function waiting(server: string): void {
  console.log(`\nfilefield: another test run is using ${server}; waiting for it to finish (runs share its tables).`);
}
