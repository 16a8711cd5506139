/**
 * The app process the crash test kills: it opens the test's world as the app would (its
 * in-process sweeper off), removes the Doc with id FILEFIELD_CLI_DOC (the commit releases its
 * file), prints READY and waits for SIGKILL, so nothing in it ever deletes the file.
 */
import 'reflect-metadata';
import { installFileFields } from '@filefield/typeorm';
import { DataSource } from 'typeorm';
import { buildStorage } from '../../../../test-support/storage-spec';
import { defineModel } from '../fixtures/typeorm-model';
import { readWorld } from '../fixtures/world';

async function main(): Promise<void> {
  const world = readWorld();
  const { Doc, entities } = defineModel(world.prefix, buildStorage(world.storage));
  const dataSource = await new DataSource({ ...world.connection, entities } as never).initialize();
  installFileFields(dataSource, { sweeper: false, gracePeriod: world.gracePeriod });
  const doc = await dataSource.manager.findOneByOrFail(Doc, { id: Number(process.env.FILEFIELD_CLI_DOC) });
  await dataSource.manager.remove(doc);
  process.stdout.write(`READY ${doc.file.name}\n`);
  setInterval(() => undefined, 1000);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
