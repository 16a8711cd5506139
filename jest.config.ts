import type { Config } from 'jest';
import { join } from 'node:path';

// One Jest project per package; tests import the workspace packages from source
// (not dist/) so `npm test` needs no build step.
const moduleNameMapper = {
  '^@filefield/([a-z0-9-]+)/testing$': '<rootDir>/../$1/src/testing/index.ts',
  '^@filefield/([a-z0-9-]+)$': '<rootDir>/../$1/src/index.ts',
};

function project(name: string): Config {
  return {
    displayName: name,
    rootDir: join(__dirname, 'packages', name),
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }] },
    moduleNameMapper,
  };
}

// The AWS SDK warns once per loaded copy of itself that Node 20 will lose support in 2027, and
// Jest loads one copy per test file: the SDK's documented switch keeps the test output readable.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const config: Config = {
  // No test or hook relies on Jest's 5 s default, which a loaded machine overruns; heavy tests set
  // their own. (A global option: Jest ignores it per project.)
  testTimeout: 30_000,
  // Probes PostgreSQL, MariaDB and an external S3 server once; see test-support/services.ts.
  globalSetup: '<rootDir>/test-support/global-setup.ts',
  // Releases the lock that keeps a second run off the shared database tables (see test-support/run-lock.ts).
  globalTeardown: '<rootDir>/test-support/global-teardown.ts',
  projects: ['core', 's3', 'typeorm', 'prisma', 'cli', 'web'].map(project),
};

export default config;
