/**
 * The extension's types, checked by the TypeScript compiler: configured columns are FieldFiles
 * on results (including nested includes and transaction clients), unconfigured ones keep their
 * type, and unknown models, unknown or non-String columns and unknown options do not compile.
 * The fixture is types/extension-types.ts; its `@ts-expect-error` lines must all be errors.
 */
import { join, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(__dirname, '../../..');

it('fileFields() is type-checked against the client it extends (and the suites type-check)', () => {
  // ts-jest only transpiles (isolatedModules), so the suites are type-checked here as well.
  const files = ['types/extension-types.ts', 'support/scenarios.ts', 'support/lifecycle-child.ts', 'sqlite.test.ts'].map((file) => join(__dirname, file));
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node', 'jest'],
    // The workspace packages from source, as the Jest projects import them.
    paths: {
      '@filefield/core': [join(root, 'packages/core/src/index.ts')],
      '@filefield/core/testing': [join(root, 'packages/core/src/testing/index.ts')],
      '@filefield/prisma': [join(root, 'packages/prisma/src/index.ts')],
      '@filefield/s3': [join(root, 'packages/s3/src/index.ts')],
      '@filefield/s3/testing': [join(root, 'packages/s3/src/testing/index.ts')],
    },
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start) : undefined;
    const file = diagnostic.file ? diagnostic.file.fileName.replace(`${root}/`, '') : '';
    return `${file}${where ? `:${where.line + 1}` : ''} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
  expect(diagnostics).toEqual([]);
}, 60_000);
