#!/usr/bin/env node
// The compiled catalog reads its data (model configs, release files) from beside itself at run time:
// copy every JSON file under catalog/ into lib/catalog/, keeping the layout.
const { cpSync, readdirSync, statSync, mkdirSync } = require("node:fs");
const { join, dirname } = require("node:path");

const root = join(__dirname, "..");
function copy(rel) {
  for (const name of readdirSync(join(root, rel))) {
    const from = join(root, rel, name);
    if (statSync(from).isDirectory()) copy(join(rel, name));
    else if (name.endsWith(".json")) {
      const to = join(root, "lib", rel, name);
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to);
    }
  }
}
copy("catalog");
