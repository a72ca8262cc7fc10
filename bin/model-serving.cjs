#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx model-serving` works right after `npm ci`.
// `lock` is asynchronous (it reads the Hub or S3), so the exit code may arrive as a Promise.
require("tsx/cjs");
Promise.resolve(require("../cli/main.ts").main(process.argv.slice(2))).then((code) => {
  process.exitCode = code;
});
