// Builds the publishable packages into their dist/ folders: ESM JavaScript with source maps (sources inlined,
// as src/ is not published) and, for @runcast/sdk and @runcast/react, type declarations. @runcast/server also
// ships the dashboard, built here too. The workspace never needs this step: it runs the sources, which each
// package exports under the "@runcast/source" condition (see README, "Using the packages").
//
//   node scripts/build-packages.mjs                  every package, then the dashboard (`npm run build`)
//   node scripts/build-packages.mjs server [react]   the named ones (each package's `prepack`)
//
// A named package is always rebuilt; a workspace package it imports is rebuilt first only when its dist/ is
// missing or older than its sources, since the importer type-checks against that package's declarations.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

/** Each package and the workspace packages it imports, in build order. */
const PACKAGES = { sdk: [], react: ["sdk"], server: ["sdk"] };

const named = process.argv.slice(2);
for (const name of named) {
  if (!(name in PACKAGES)) {
    process.stderr.write(`build-packages: unknown package "${name}" (known: ${Object.keys(PACKAGES).join(", ")})\n`);
    process.exit(2);
  }
}
const targets = named.length ? named : Object.keys(PACKAGES);

const built = new Set();
for (const name of targets) {
  for (const dep of PACKAGES[name]) if (!built.has(dep) && !targets.includes(dep) && isStale(dep)) build(dep);
  if (!built.has(name)) build(name);
}

function build(name) {
  const dir = join(root, "packages", name);
  const dist = join(dir, "dist");
  rmSync(dist, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
  const rewritten = rewriteDeclarationImports(dist);
  built.add(name);
  process.stdout.write(`@runcast/${name} built into packages/${name}/dist${rewritten ? ` (${rewritten} declaration file(s) given .js import paths)` : ""}\n`);
  if (name === "server") execFileSync(process.execPath, [join(root, "scripts", "build-dashboard.mjs")], { stdio: "inherit", cwd: root });
}

/**
 * tsc rewrites `./x.ts` imports to `./x.js` in the JavaScript it emits (rewriteRelativeImportExtensions) but
 * not in declarations (microsoft/TypeScript#61037). TypeScript itself reads `.ts` paths in a .d.ts, yet
 * editors and declaration tools expect the `.js` path the runtime uses, so declarations get it too.
 */
function rewriteDeclarationImports(dir) {
  let n = 0;
  for (const file of listFiles(dir)) {
    if (!file.endsWith(".d.ts")) continue;
    const text = readFileSync(file, "utf8");
    const next = text.replace(
      /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"'\n]*?)\.([mc]?)tsx?\2/g,
      (_m, lead, quote, path, kind) => `${lead}${quote}${path}.${kind}js${quote}`,
    );
    if (next !== text) {
      writeFileSync(file, next);
      n++;
    }
  }
  return n;
}

function isStale(name) {
  const dir = join(root, "packages", name);
  const stamp = join(dir, "dist", "index.js");
  if (!existsSync(stamp)) return true;
  const inputs = [join(dir, "src"), join(dir, "package.json"), join(dir, "tsconfig.build.json"), join(root, "tsconfig.build.json"), join(root, "tsconfig.json")];
  return Math.max(...inputs.map(newest)) > statSync(stamp).mtimeMs;
}

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
