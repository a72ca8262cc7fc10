#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx model-serving` works right after `npm ci`.
require("tsx/cjs");
process.exitCode = require("../cli/main.ts").main(process.argv.slice(2));
