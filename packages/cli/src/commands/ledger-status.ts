/** `filefield ledger status`: what the ledger holds for the app's storages, and what keeps failing. */
import { type LedgerStatus, ledgerStatus } from '../ledger-queries';
import { print, printJson } from '../output';
import type { Session } from '../session';

export interface StatusOptions {
  storage?: string;
  json?: boolean;
}

export async function ledgerStatusCommand(session: Session, options: StatusOptions): Promise<number> {
  const selected = session.select(options.storage);
  const status = await ledgerStatus(session.ledger, selected.map((entry) => entry.storage.id), { now: session.ledger.clock() });
  if (options.json) {
    printJson({ ...status, storages: selected.map((entry) => ({ name: entry.name, id: entry.storage.id })) });
    return 0;
  }
  const names = new Map(selected.map((entry) => [entry.storage.id, entry.name]));
  print(`ledger (${status.dialect}) for ${selected.map((entry) => (entry.name === entry.storage.id ? entry.name : `${entry.name} (${entry.storage.id})`)).join(', ')}`);
  print(describeFiles(status));
  print(`tasks: ${status.tasks.due} due, ${status.tasks.notDue} not due yet`);
  print(`failing deletions: ${status.failing.count}`);
  for (const file of status.failing.files) {
    const next = file.nextAttempt ? `, next try ${file.nextAttempt}` : '';
    print(`  ${names.get(file.storageId) ?? file.storageId}: ${file.name} (${file.attempts} attempt${file.attempts === 1 ? '' : 's'}${next}): ${file.lastError ?? 'no error recorded'}`);
  }
  if (status.failing.count > status.failing.files.length) print(`  … and ${status.failing.count - status.failing.files.length} more (--json lists the same first ${status.failing.files.length})`);
  return 0;
}

function describeFiles(status: LedgerStatus): string {
  const { present, checking, deleting, deleted } = status.files;
  const claims = [status.claimed > 0 ? `${status.claimed} claimed by uploads in progress` : '', status.expiredClaims > 0 ? `${status.expiredClaims} with an expired claim` : '']
    .filter(Boolean)
    .join(', ');
  return `files: ${present} present${claims ? ` (${claims})` : ''}, ${checking} checking, ${deleting} deleting, ${deleted} deleted (tombstones)`;
}
