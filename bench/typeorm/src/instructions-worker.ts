/**
 * One instruction-count run (see main.ts --instructions): set up both variants, load each once to
 * warm up, then load `variant` `count` times with `scenario`. Run under callgrind by main.ts.
 *   node instructions-worker.js <database> <variant> <scenario> <count>
 */
import { type Variant, openFixture, scenarios } from './fixture';

async function main(): Promise<void> {
  const [database = 'sqlite', variant = 'plain', scenarioKey = 'load', countText = '0'] = process.argv.slice(2);
  const scenario = scenarios[scenarioKey];
  if (!scenario) throw new Error(`unknown scenario '${scenarioKey}'`);
  const fixture = await openFixture(database);
  try {
    await fixture.load('plain', scenario);
    await fixture.load('files', scenario);
    for (let i = 0; i < Number(countText); i += 1) await fixture.load(variant as Variant, scenario);
  } finally {
    await fixture.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
