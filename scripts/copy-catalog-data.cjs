#!/usr/bin/env node
// The compiled library reads data from beside itself at run time: every JSON file under catalog/
// (model configs, release files, IAM policies) and the local Helm charts under charts/ are copied
// into lib/, keeping the layout.
const { cpSync, readdirSync, statSync, mkdirSync } = require("node:fs");
const { join, dirname } = require("node:path");

const root = join(__dirname, "..");
function copy(rel, keep) {
  for (const name of readdirSync(join(root, rel))) {
    const from = join(root, rel, name);
    if (statSync(from).isDirectory()) copy(join(rel, name), keep);
    else if (keep(name)) {
      const to = join(root, "lib", rel, name);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to);
    }
  }
}
copy("catalog", (name) => name.endsWith(".json"));
copy("charts", () => true);
