import type { RunLock } from './run-lock';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { filefieldRunLock?: RunLock }).filefieldRunLock?.release();
}
