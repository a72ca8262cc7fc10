/** Tests run through @swc/jest (transpile only); `npm test` type-checks with tsc first. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.tsx?$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  // Examples import the package by name, as users do; inside the repository that name is the source entry point.
  moduleNameMapper: { "^cdktf-model-serving$": "<rootDir>/index.ts" },
  globalSetup: "<rootDir>/test/global-setup.ts",
  setupFilesAfterEnv: ["<rootDir>/test/setup.ts"],
  testTimeout: 60000,
  // The suites are CPU-bound synths: use both cores (jest defaults to cores − 1, i.e. one worker here).
  maxWorkers: 2,
};
