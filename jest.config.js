/**
 * Four projects: unit tests need no services and stay fast (npm run test:unit); integration tests get
 * DynamoDB Local and Redis from the global setup; browser tests drive the console in Chromium against the
 * dev stack on those same services; the package test runs `serverless package` (20-60 s of esbuild
 * bundling). `npm test` runs all four.
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  // The snapshot's Lua scripts: a .lua file is a module whose value is its text (src/snapshot/redis/lua.ts).
  '^.+\\.lua$': '<rootDir>/test/lua-transform.js',
  // jose, p-limit and its yocto-queue ship ES modules only; jest's CommonJS runtime needs them transformed.
  '^.+/node_modules/(jose|p-limit|yocto-queue)/.+\\.js$': [
    '@swc/jest',
    { jsc: { target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};
const transformIgnorePatterns = ['/node_modules/(?!(jose|p-limit|yocto-queue)/)'];

module.exports = {
  // The one default for every test of both projects: Jest 29 reads testTimeout only here, at the top level
  // (inside a project it is ignored with a warning). Generous because integration tests share two cores
  // with DynamoDB Local's JVM and redis-server; a file that needs longer says so with jest.setTimeout.
  testTimeout: 120000,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    {
      // The console in Debian's Chromium against the dev stack, on the integration project's services.
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    {
      displayName: 'package',
      testMatch: ['<rootDir>/test/package/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
  ],
};
