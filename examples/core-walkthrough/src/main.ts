/**
 * The core API without any ORM: a FileSystemStorage in a temporary directory, walked through
 * the default_storage doctest and a FieldFile save/read/chunks round trip.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, FieldFile, FileFieldDefinition, FileSystemStorage, SuspiciousFileOperation } from '@filefield/core';

async function main(): Promise<void> {
  const location = await mkdtemp(join(tmpdir(), 'filefield-walkthrough-'));
  const storage = new FileSystemStorage({ location, baseUrl: 'https://example.com/media/' });
  try {
    console.log(`storage: FileSystemStorage at ${location}`);
    console.log(`exists('storage_test') → ${await storage.exists('storage_test')}`);
    const writer = storage.open('storage_test', 'w');
    await writer.write('storage contents');
    await writer.close();
    console.log(`after write: exists → ${await storage.exists('storage_test')}, read → '${await storage.open('storage_test').read()}'`);
    await storage.delete('storage_test');
    console.log(`after delete: exists → ${await storage.exists('storage_test')}`);

    const field = new FileFieldDefinition('Walkthrough', 'normal', { uploadTo: 'tests', storage });
    const file = new FieldFile({}, field, null);
    await file.save('django_test.txt', new ContentFile('content'), { save: false });
    console.log(`saved → ${file.name}, size ${await file.size()}, url ${await file.url()}`);
    file.open();
    console.log(`read(3) → '${await file.read(3)}', read() → '${await file.read()}'`);
    const chunks: string[] = [];
    for await (const chunk of file.chunks(2)) chunks.push(chunk.toString());
    console.log(`chunks(2) joined by '-' → '${chunks.join('-')}'`);
    const second = new FieldFile({}, field, null);
    await second.save('django_test.txt', new ContentFile('more content'), { save: false });
    console.log(`same name again → ${second.name} (unique), size ${await second.size()}`);
    console.log(`listdir('tests') → ${JSON.stringify(await storage.listdir('tests'))}`);
    try {
      await storage.save('../escape.txt', 'nope');
    } catch (error) {
      if (!(error instanceof SuspiciousFileOperation)) throw error;
      console.log(`save('../escape.txt') refused: ${error.code}: ${error.message}`);
    }
  } finally {
    await rm(location, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
