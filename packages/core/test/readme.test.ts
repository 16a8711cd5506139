/**
 * The README's core quick start runs as written (issue 12: it used undefined variables). The block
 * is transpiled as the body of an async function, `./media` becomes a temporary directory, and each
 * statement ending in `// <literal>` (a string, number, boolean or null) is checked to equal it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const README = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

function firstTypeScriptBlock(heading: string): string {
  const section = README.indexOf(`\n## ${heading}\n`);
  if (section === -1) throw new Error(`README.md has no "## ${heading}" section`);
  const start = README.indexOf('```ts\n', section) + '```ts\n'.length;
  return README.slice(start, README.indexOf('\n```', start));
}

const LITERAL = String.raw`'(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false|null`;
const CHECKED = new RegExp(String.raw`^(?:await )?(.+);\s*// (${LITERAL})$`);

/** `expr; // 'value'` becomes a check; other lines stay as they are. */
function withChecks(body: string): { code: string; checks: number } {
  let checks = 0;
  const code = body
    .split('\n')
    .map((line) => {
      const match = CHECKED.exec(line);
      if (!match || /^(const|let|await \w+\.(write|close|delete))\b/.test(line)) return line;
      checks += 1;
      const expression = line.startsWith('await ') ? `await ${match[1]}` : match[1];
      return `__check(${JSON.stringify(line)}, ${expression}, ${match[2]});`;
    })
    .join('\n');
  return { code, checks };
}

test('the core quick start runs as written and its comments tell the truth', async () => {
  const location = await mkdtemp(join(tmpdir(), 'filefield-readme-'));
  try {
    const block = firstTypeScriptBlock('Quick start (core only)');
    expect(block).toContain("location: './media'");
    const lines = block.replace("location: './media'", `location: ${JSON.stringify(location)}`).split('\n');
    const imports = lines.filter((line) => line.startsWith('import '));
    const { code, checks } = withChecks(lines.filter((line) => !line.startsWith('import ')).join('\n'));
    expect(checks).toBeGreaterThanOrEqual(4);
    const source = `${imports.join('\n')}\nexport async function run(__check: (line: string, actual: unknown, expected: unknown) => void): Promise<void> {\n${code}\n}\n`;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const module = { exports: {} as { run(check: (line: string, actual: unknown, expected: unknown) => void): Promise<void> } };
    new Function('module', 'exports', 'require', outputText)(module, module.exports, require);
    const results: Array<{ line: string; actual: unknown; expected: unknown }> = [];
    await module.exports.run((line, actual, expected) => results.push({ line, actual, expected }));
    expect(results).toHaveLength(checks);
    for (const { line, actual, expected } of results) expect({ line, actual }).toEqual({ line, actual: expected });
  } finally {
    await rm(location, { recursive: true, force: true });
  }
});
