#!/usr/bin/env node
/**
 * Generates Prisma clients, in parallel. Without arguments: the test schemas,
 * prisma/<provider>/schema.prisma → prisma/generated/<provider> (git-ignored), for sqlite,
 * postgresql and mysql. With arguments: those schema files (relative to the current directory;
 * examples/prisma-quickstart uses this). Run by `npm ci` (the root `prepare` script) and by
 * `npm run generate -w @filefield/prisma`.
 *
 * `prisma generate` needs no schema engine, but the CLI tries to download one unless
 * PRISMA_SCHEMA_ENGINE_BINARY names an executable; where none is set, a stand-in that explains
 * itself is used (see no-schema-engine.js).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const schemas = process.argv.length > 2
  ? process.argv.slice(2).map((schema) => path.resolve(schema))
  : ['sqlite', 'postgresql', 'mysql'].map((provider) => path.join(root, 'prisma', provider, 'schema.prisma'));
const cli = require.resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || path.join(__dirname, 'no-schema-engine.js'),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

function generate(schema) {
  const label = path.relative(root, schema);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'generate', '--schema', schema], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(label) : reject(new Error(`prisma generate (${label}) exited with ${code}:\n${output}`))));
  });
}

Promise.all(schemas.map(generate)).then(
  (done) => console.log(`generated the Prisma clients of ${done.join(', ')}`),
  (error) => {
    console.error(error.message);
    process.exitCode = 1;
  },
);
