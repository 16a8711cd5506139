/**
 * TypeScript configs are compiled by the app's own TypeScript (resolved from the config's
 * directory or beside the CLI, with the compiler options of the tsconfig.json nearest to it), the way ts-node
 * would compile them, and jiti loads the result. jiti's own Babel transform cannot load TypeORM
 * entities: it has no class-properties step after its legacy decorators, so any decorated field
 * (`@Column() title!: string`) fails to compile or to decorate. TypeScript emits decorators and
 * their `design:type` metadata exactly as the app's build does. Without TypeScript installed
 * (or for JavaScript files) jiti's transform applies.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as TypeScript from 'typescript';

export type Transform = (options: { source: string; filename?: string }) => { code: string };

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** A jiti `transform` for `.ts`/`.mts`/`.cts` files, or undefined when the app has no TypeScript. */
export function typescriptTransform(configPath: string, fallback: (options: { source: string; filename?: string }) => string): Transform | undefined {
  const ts = loadTypeScript(configPath);
  if (!ts) return undefined;
  const compilerOptions: TypeScript.CompilerOptions = {
    ...projectOptions(ts, dirname(configPath)),
    // What jiti evaluates: CommonJS, no separate outputs.
    module: ts.ModuleKind.CommonJS,
    esModuleInterop: true,
    sourceMap: false,
    inlineSourceMap: false,
    declaration: false,
    declarationMap: false,
    composite: false,
    incremental: false,
    noEmit: false,
    emitDeclarationOnly: false,
    verbatimModuleSyntax: false,
  };
  return (options) => {
    if (!options.filename || !TYPESCRIPT_FILE.test(options.filename)) return { code: fallback(options) };
    const output = ts.transpileModule(options.source, { fileName: options.filename, compilerOptions, reportDiagnostics: false });
    return { code: output.outputText };
  };
}

/** The app's TypeScript: from the config's directory, else from beside the CLI (the app's node_modules, where it is installed). */
function loadTypeScript(configPath: string): typeof TypeScript | undefined {
  for (const from of [configPath, __filename]) {
    try {
      return createRequire(from)('typescript') as typeof TypeScript;
    } catch {
      // Not there: try the next place.
    }
  }
  return undefined;
}

/** The compiler options of the nearest tsconfig.json (none: TypeScript's defaults plus decorators, as TypeORM apps set them). */
function projectOptions(ts: typeof TypeScript, directory: string): TypeScript.CompilerOptions {
  const path = ts.findConfigFile(directory, ts.sys.fileExists);
  if (!path) return { target: ts.ScriptTarget.ES2022, experimentalDecorators: true, emitDecoratorMetadata: true, useDefineForClassFields: false };
  const read = ts.readConfigFile(path, ts.sys.readFile);
  if (read.error) return {};
  return ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(path)).options;
}
