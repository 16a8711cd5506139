/**
 * The process the crash tests kill: it opens the database and storage a test uses, with the
 * same fileFields() configuration, does one step, prints `READY <name>` and waits for SIGKILL.
 */
import { ContentFile } from '@filefield/core';
import { clientFor } from './databases';
import { buildStorage } from '../../../../test-support/storage-spec';
import { type ChildConfig, extendForLifecycle } from './lifecycle-world';

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FILEFIELD_CHILD ?? '{}') as ChildConfig;
  const prisma = extendForLifecycle(clientFor(config.provider, config.url), buildStorage(config.storage), buildStorage(config.storage), {
    gracePeriod: config.gracePeriod,
    clock: () => config.now,
    sweeper: false,
  });
  let name: string;
  if (config.step === 'upload') {
    const row = await prisma.myStorage.create({ data: {} });
    name = await row.normal.save('crash-upload.txt', new ContentFile('uploaded, never saved'), { save: false });
  } else {
    const row = await prisma.myStorage.findUniqueOrThrow({ where: { id: config.id! } });
    name = row.normal.name!;
    await prisma.myStorage.delete({ where: { id: config.id! } });
  }
  process.stdout.write(`READY ${name}\n`);
  setInterval(() => undefined, 1000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
