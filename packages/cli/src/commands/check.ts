/**
 * `filefield check`: can this config reach everything the sweeper needs? One line per part, `ok`
 * or `FAIL` with the error's name and message: the config, the ledger tables (every column the
 * core uses), and each storage (an `exists` of a probe name, then `capabilities()` where the
 * driver has it: S3 writes and removes scratch objects to find what the server does). Exit 1 when
 * a part failed.
 */
import { FILES_TABLE, TASKS_TABLE, type Storage } from '@filefield/core';
import { checkLedgerTables } from '../ledger-queries';
import { print } from '../output';
import { describeError } from '../report-error';
import type { Session } from '../session';

const PROBE_NAME = '.filefield-check';

export async function checkCommand(session: Session, configPath: string, options: { verbose?: boolean }): Promise<number> {
  let failed = 0;
  const line = (ok: boolean, part: string, text: string) => {
    if (!ok) failed += 1;
    print(`${ok ? 'ok  ' : 'FAIL'}  ${part.padEnd(8)} ${text}`);
  };
  line(true, 'config', configPath);
  try {
    await checkLedgerTables(session.ledger);
    line(true, 'ledger', `${FILES_TABLE}, ${TASKS_TABLE} (${session.ledger.database.dialect})`);
  } catch (error) {
    line(false, 'ledger', describeError(error, options.verbose));
  }
  for (const { name, storage } of session.storages()) {
    const label = name === storage.id ? name : `${name} (${storage.id})`;
    try {
      await storage.exists(PROBE_NAME);
      line(true, 'storage', `${label}: reachable${await describeCapabilities(storage)}`);
    } catch (error) {
      line(false, 'storage', `${label}: ${describeError(error, options.verbose)}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

interface S3Capabilities {
  conditionalWrites?: boolean;
  deleteObjects?: boolean;
}

/** What a driver with `capabilities()` (S3) reports, for the line of its storage. */
async function describeCapabilities(storage: Storage): Promise<string> {
  const probe = (storage as { capabilities?: () => Promise<S3Capabilities> }).capabilities;
  if (typeof probe !== 'function') return '';
  const found = await probe.call(storage);
  const yes = (value: boolean | undefined) => (value ? 'yes' : 'no');
  return `; conditional writes: ${yes(found.conditionalWrites)}, DeleteObjects: ${yes(found.deleteObjects)}`;
}
