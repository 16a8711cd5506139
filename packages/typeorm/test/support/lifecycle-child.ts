/**
 * The process the crash tests kill: it opens the world a test built (same tables, storage
 * configuration and grace period), does one step, prints `READY <name>` and waits for SIGKILL.
 */
import 'reflect-metadata';
import { ContentFile } from '@filefield/core';
import { DataSource } from 'typeorm';
import { installFileFields } from '../../src';
import type { ChildConfig } from './lifecycle-world';
import { buildStorage } from '../../../../test-support/storage-spec';
import { defineLifecycleModel } from './lifecycle-model';

async function main(): Promise<void> {
  const config = JSON.parse(process.env.FILEFIELD_CHILD ?? '{}') as ChildConfig;
  const storage = buildStorage(config.storage);
  const model = defineLifecycleModel(config.prefix, storage, buildStorage(config.storage));
  const dataSource = new DataSource({ ...config.connection, entities: model.entities, synchronize: false, poolSize: 2 } as never);
  await dataSource.initialize();
  installFileFields(dataSource, { gracePeriod: config.gracePeriod, clock: () => config.now, sweeper: false });
  let name: string;
  if (config.step === 'upload') {
    const doc = new model.Doc();
    name = await doc.file.save('crash-upload.txt', new ContentFile('uploaded, never saved'), { save: false });
  } else {
    const doc = await dataSource.manager.findOneByOrFail(model.Doc, { id: config.id! });
    name = doc.file.name!;
    await dataSource.manager.remove(doc);
  }
  process.stdout.write(`READY ${name}\n`);
  setInterval(() => undefined, 1000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
