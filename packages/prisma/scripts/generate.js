#!/usr/bin/env node
/**
 * Generates the Prisma clients of the test schemas: prisma/<provider>/schema.prisma →
 * prisma/generated/<provider> (git-ignored), for sqlite, postgresql and mysql, in parallel.
 * Run by `npm ci` (the root `prepare` script) and by `npm run generate -w @filefield/prisma`.
 *
 * `prisma generate` needs no schema engine, but the CLI tries to download one unless
 * PRISMA_SCHEMA_ENGINE_BINARY names an executable; where none is set, a stand-in that explains
 * itself is used (see no-schema-engine.js).
 */
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '../../..');
const providers = ['sqlite', 'postgresql', 'mysql'];
const cli = require.resolve('prisma/build/index.js');
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || path.join(__dirname, 'no-schema-engine.js'),
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};

function generate(provider) {
  const schema = path.join(root, 'prisma', provider, 'schema.prisma');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'generate', '--schema', schema], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(provider) : reject(new Error(`prisma generate (${provider}) exited with ${code}:\n${output}`))));
  });
}

Promise.all(providers.map(generate)).then(
  (done) => console.log(`@filefield/prisma: generated Prisma clients for ${done.join(', ')} in prisma/generated/`),
  (error) => {
    console.error(error.message);
    process.exitCode = 1;
  },
);
