#!/usr/bin/env node
// The `model-serving` command runs the compiled CLI from lib/ (built by `npm run build`, which
// `npm ci` runs through the prepare script). `lock` reads the Hub or S3, so the exit code may be a Promise.
const { main } = require("../lib/cli/main.js");
Promise.resolve(main(process.argv.slice(2))).then((code) => {
  process.exitCode = code;
});
