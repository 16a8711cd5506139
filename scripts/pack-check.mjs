#!/usr/bin/env node
/**
 * `npm run pack:check`: what a user installs from npm, checked before it is published.
 *
 * 1. `npm pack` every publishable package (`prepack` builds it) and check each tarball: the
 *    entry points, every `exports` and `typesVersions` target, LICENSE, and that every source map
 *    points at a file in the tarball.
 * 2. Install the tarballs into fresh consumer apps in a private temporary directory (outside the
 *    repository, removed afterwards): CommonJS and ESM on the TypeORM of the workspace (1.x), and a
 *    CommonJS app on TypeORM 0.3 (`PACK_CHECK_TYPEORM_03` overrides the range).
 * 3. In each app, type-check scripts/pack-check/consumer.ts with `skipLibCheck: false` under the
 *    module resolutions that app stands for (CommonJS: node10 and node16; ESM: node16 and bundler),
 *    then compile it and run it: memory, filesystem and S3 (s3rver from @filefield/s3/testing)
 *    storages, and a TypeORM scenario on SQLite that needs the subscriber (a replaced and a removed
 *    file deleted after the commit, a rolled-back remove keeping it). Each run gets a temporary
 *    directory of its own (TMPDIR), which it must leave empty.
 *    Then run the installed `filefield` bin (@filefield/cli) with `--help`.
 * 4. In the CommonJS app, nest a second copy of @filefield/core under @filefield/s3 and
 *    @filefield/typeorm and run the program again (it must pass); then make that copy 99.0.0 (it
 *    must refuse to load).
 *
 * Installs use the ordinary npm cache and --ignore-scripts; better-sqlite3 is pinned to the
 * workspace's version and its compiled addon is copied from the workspace, so nothing is built.
 * PACK_CHECK_KEEP=1 keeps the temporary directory for a look.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 's3', 'typeorm', 'prisma', 'cli', 'web'];
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const started = Date.now();

function workspaceVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Run a command; its output is shown only when it fails (or always, with `show`). */
function run(command, args, cwd, { env = {}, show = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        if (show && output.trim()) console.log(output.trimEnd());
        resolvePromise(stdout);
      } else {
        reject(new Error(`${[command, ...args].join(' ')} (in ${cwd}) exited with ${code}:\n${output}`));
      }
    });
  });
}

const step = (message) => console.log(`pack-check [${((Date.now() - started) / 1000).toFixed(0)}s] ${message}`);

/** The files a package.json points at: main, types, every exports target, every typesVersions target. */
function entryPoints(manifest) {
  const targets = [manifest.main, manifest.types];
  const walk = (value) => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  for (const paths of Object.values(manifest.typesVersions ?? {})) walk(paths);
  return [...new Set(targets.filter(Boolean).map((target) => posix.normalize(target)))];
}

async function checkTarball(name, tarball, extractDir) {
  mkdirSync(extractDir, { recursive: true });
  await run('tar', ['-xzf', tarball, '-C', extractDir]);
  const dir = join(extractDir, 'package');
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const problems = [];
  for (const file of ['LICENSE', 'README.md', ...entryPoints(manifest)]) {
    if (!existsSync(join(dir, file))) problems.push(`${file} is not in the tarball`);
  }
  if (!manifest.scripts?.prepack) problems.push('no prepack script (nothing builds dist before packing)');
  if (!manifest.engines?.node) problems.push('no engines.node');
  for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'license']) {
    if (!manifest[field]) problems.push(`no ${field}`);
  }
  const core = manifest.dependencies?.['@filefield/core'] ?? manifest.peerDependencies?.['@filefield/core'];
  if (name !== '@filefield/core' && (!manifest.peerDependencies?.['@filefield/core'] || core === '*')) {
    problems.push('@filefield/core must be a peer dependency with a semver range');
  }
  // Every source map's sources must be shipped, or "go to definition" lands on a missing file.
  const maps = (await run('find', [dir, '-name', '*.map'])).split('\n').filter(Boolean);
  for (const map of maps) {
    const { sources, sourceRoot = '' } = JSON.parse(readFileSync(map, 'utf8'));
    for (const source of sources) {
      const target = normalize(join(dirname(map), sourceRoot, source));
      if (!target.startsWith(dir) || !existsSync(target)) problems.push(`${relative(dir, map)} points at ${source}, which is not shipped`);
    }
  }
  if (maps.length === 0) problems.push('no source maps (expected dist/**/*.map)');
  if (problems.length > 0) throw new Error(`${name}: ${problems.length} problem(s) in the tarball:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return maps.length;
}

const compilerOptions = {
  target: 'ES2022',
  lib: ['ES2023'],
  strict: true,
  skipLibCheck: false,
  esModuleInterop: true,
  experimentalDecorators: true,
  useDefineForClassFields: false,
  forceConsistentCasingInFileNames: true,
  types: ['node'],
  rootDir: 'src',
};
const resolutions = {
  node10: { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'preserve', moduleResolution: 'bundler' },
};

/** Run the compiled consumer with a temporary directory of its own, which it must leave empty. */
async function runConsumer(dir, app) {
  const temporary = join(dir, 'tmp');
  mkdirSync(temporary, { recursive: true });
  const output = await run(process.execPath, [join(`dist-${app.run}`, 'main.js')], dir, {
    env: { TMPDIR: temporary, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const left = readdirSync(temporary);
  if (left.length > 0) throw new Error(`${app.name}: the program left ${left.join(', ')} in its temporary directory`);
  return output;
}

async function consumerApp(work, tarballs, app) {
  const dir = join(work, `app-${app.name}`);
  mkdirSync(join(dir, 'src'), { recursive: true });
  const dependencies = Object.fromEntries(packages.map((name) => [`@filefield/${name}`, `file:${tarballs[name]}`]));
  Object.assign(dependencies, {
    typeorm: app.typeorm,
    'reflect-metadata': workspaceVersion('reflect-metadata'),
    'better-sqlite3': workspaceVersion('better-sqlite3'),
    s3rver: workspaceVersion('s3rver'),
    '@prisma/client': workspaceVersion('@prisma/client'),
    '@types/node': workspaceVersion('@types/node'),
  });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `pack-check-${app.name}`, private: true, type: app.type, dependencies }, null, 2));
  copyFileSync(join(root, 'scripts', 'pack-check', 'consumer.ts'), join(dir, 'src', 'main.ts'));
  for (const resolution of [app.run, ...app.checks]) {
    const options = { ...compilerOptions, ...resolutions[resolution], outDir: `dist-${resolution}`, noEmit: resolution !== app.run };
    writeFileSync(join(dir, `tsconfig.${resolution}.json`), JSON.stringify({ compilerOptions: options, include: ['src'] }, null, 2));
  }

  await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
  // The compiled addon of the same better-sqlite3 version, instead of building it again.
  const addon = join('build', 'Release', 'better_sqlite3.node');
  mkdirSync(join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release'), { recursive: true });
  copyFileSync(join(realpathSync(join(root, 'node_modules', 'better-sqlite3')), addon), join(dir, 'node_modules', 'better-sqlite3', addon));
  const typeormVersion = JSON.parse(readFileSync(join(dir, 'node_modules', 'typeorm', 'package.json'), 'utf8')).version;
  step(`${app.name}: installed the tarballs with typeorm ${typeormVersion}`);

  for (const resolution of new Set([...app.checks, app.run])) {
    await run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], dir);
  }
  step(`${app.name}: type-checks with skipLibCheck off under moduleResolution ${[...new Set([...app.checks, app.run])].join(', ')}`);
  const output = await runConsumer(dir, app);
  step(`${app.name} (${app.type}, ${app.run}): ${output.trim()}`);
  if (!output.includes(`TypeORM ${typeormVersion}`)) throw new Error(`${app.name}: the consumer did not finish`);
  // @filefield/cli's bin, installed by npm as node_modules/.bin/filefield, runs in the fresh app.
  const help = await run(join(dir, 'node_modules', '.bin', 'filefield'), ['--help'], dir);
  if (!/^\s+sweep\b/m.test(help) || !/^\s+orphans\b/m.test(help)) throw new Error(`${app.name}: filefield --help did not list its commands:\n${help}`);
  step(`${app.name}: the filefield bin runs (--help)`);
  if (app.duplicateCore) await duplicateCore(dir, app);
  return typeormVersion;
}

/**
 * Issue 12's two copies of the core: a second copy nested under @filefield/s3 and
 * @filefield/typeorm (as an install with a conflicting range leaves it). The same program must
 * still pass (brands, one shared registry); a copy of another major version must refuse to load.
 */
async function duplicateCore(dir, app) {
  const core = join(dir, 'node_modules', '@filefield', 'core');
  for (const name of ['s3', 'typeorm']) {
    cpSync(core, join(dir, 'node_modules', '@filefield', name, 'node_modules', '@filefield', 'core'), { recursive: true });
  }
  const resolved = await run(process.execPath, ['-p', "require.resolve('@filefield/core', { paths: [require.resolve('@filefield/typeorm')] })"], dir);
  if (!resolved.includes(join('@filefield', 'typeorm', 'node_modules'))) throw new Error(`${app.name}: the nested copy of the core is not used (${resolved.trim()})`);
  const output = await runConsumer(dir, app);
  step(`${app.name} with two copies of @filefield/core: ${output.trim()}`);

  const nested = join(dir, 'node_modules', '@filefield', 'typeorm', 'node_modules', '@filefield', 'core', 'package.json');
  writeFileSync(nested, JSON.stringify({ ...JSON.parse(readFileSync(nested, 'utf8')), version: '99.0.0' }, null, 2));
  const refused = await runConsumer(dir, app).then(
    () => undefined,
    (error) => error.message,
  );
  if (!refused?.includes('Two incompatible copies of @filefield/core are loaded')) {
    throw new Error(`${app.name}: a second core of another major version was not refused:\n${refused ?? 'the program passed'}`);
  }
  step(`${app.name} with a core 99.0.0 next to it: refused at load ("Two incompatible copies of @filefield/core are loaded")`);
}

async function main() {
  const work = mkdtempSync(join(realpathSync(tmpdir()), 'filefield-pack-check-'));
  try {
    const packDir = join(work, 'tarballs');
    mkdirSync(packDir);
    const workspaces = packages.flatMap((name) => ['-w', `packages/${name}`]);
    const packed = await run('npm', ['pack', '--json', '--pack-destination', packDir, ...workspaces], root);
    const results = JSON.parse(packed.slice(packed.search(/^\[/m)));
    const tarballs = {};
    for (const result of results) {
      const short = result.name.replace('@filefield/', '');
      tarballs[short] = join(packDir, result.filename);
      const maps = await checkTarball(result.name, tarballs[short], join(work, 'extracted', short));
      step(`${result.name}@${result.version}: ${result.entryCount} files, ${(result.size / 1024).toFixed(0)} kB packed, ${maps} source maps resolve`);
    }
    if (Object.keys(tarballs).length !== packages.length) throw new Error(`npm pack produced ${results.length} tarballs, expected ${packages.length}`);

    const apps = [
      { name: 'cjs', type: 'commonjs', typeorm: workspaceVersion('typeorm'), run: 'node10', checks: ['node16'], duplicateCore: true },
      { name: 'esm', type: 'module', typeorm: workspaceVersion('typeorm'), run: 'node16', checks: ['bundler'] },
      { name: 'typeorm-0.3', type: 'commonjs', typeorm: process.env.PACK_CHECK_TYPEORM_03 ?? '^0.3.0', run: 'node16', checks: ['node10'] },
    ];
    // The apps are independent: install and run them side by side (npm's cache is safe to share).
    const outcomes = await Promise.allSettled(apps.map((app) => consumerApp(work, tarballs, app)));
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((outcome) => outcome.reason.message).join('\n\n'));
    step('passed');
  } finally {
    if (process.env.PACK_CHECK_KEEP) console.log(`pack-check: kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`pack-check failed: ${error.message}`);
  process.exitCode = 1;
});
