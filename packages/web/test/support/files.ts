/** Everything under a directory, temporary files included: what "nothing left behind" means on disk. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function filesUnder(directory: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(dir, entry.name), `${prefix}${entry.name}/`);
      else out.push(prefix + entry.name);
    }
  };
  await walk(directory, '');
  return out.sort();
}
