/** Jest runs every suite of the monorepo: chaincode, gateway, the client and the cross-package suites in test/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/chaincode/test', '<rootDir>/gateway/test', '<rootDir>/client/test', '<rootDir>/test'],
  // Tests use the client's source, as the type check does (tsconfig.json paths), never a stale build.
  moduleNameMapper: { '^@gec-ledger/client$': '<rootDir>/client/src/index.ts' },
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/jest.setup.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
