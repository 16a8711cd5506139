// Resolve @filefield/<package>[/testing] to the workspace's TypeScript sources in child
// processes, as jest.config.ts's moduleNameMapper does for the tests themselves.
const Module = require('node:module');
const { join } = require('node:path');

const packages = join(__dirname, '..', 'packages');
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveWorkspace(request, ...rest) {
  const match = /^@filefield\/([a-z0-9-]+)(\/testing)?$/.exec(request);
  if (match) request = join(packages, match[1], 'src', match[2] ? 'testing/index.ts' : 'index.ts');
  return resolve.call(this, request, ...rest);
};
