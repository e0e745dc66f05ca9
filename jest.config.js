/** Jest runs every suite of the monorepo: chaincode, gateway and the cross-package suites in test/. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/chaincode/test', '<rootDir>/gateway/test', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/jest.setup.js'],
  testTimeout: 60000,
  maxWorkers: 2,
};
