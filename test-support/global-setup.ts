import { createLedgerTablesOnServers } from './ledger-tables';
import { lockTestServers } from './run-lock';
import { probeServices } from './services';

export default async function globalSetup(): Promise<void> {
  const found = await probeServices();
  // Held until the global teardown (same process): runs share the servers' tables.
  (globalThis as { filefieldRunLock?: unknown }).filefieldRunLock = await lockTestServers(found);
  // The ledger tables are shared by every suite on a server: create them once, before the workers start.
  await createLedgerTablesOnServers(found);
  const absent = Object.entries(found).filter(([, ok]) => !ok).map(([name]) => name);
  if (absent.length > 0) {
    console.log(`\nfilefield: not reachable, their suites will be skipped: ${absent.join(', ')}`);
  }
}
