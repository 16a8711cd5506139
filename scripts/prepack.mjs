#!/usr/bin/env node
/**
 * The `prepack` of every publishable package (run in its directory by `npm pack` and `npm publish`):
 * a clean build, so the tarball holds what the current sources compile to and nothing a deleted
 * source left behind in dist/ (the pack check refuses source maps that point at missing files).
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';

rmSync('dist', { recursive: true, force: true });
rmSync('tsconfig.tsbuildinfo', { force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const { status } = spawnSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
process.exitCode = status ?? 1;
