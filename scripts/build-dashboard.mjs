// Builds the dashboard (packages/server/dashboard) into packages/server/dashboard-dist, which the server serves
// at `/`. Runs at install (`prepare`: a fresh clone's `npm install` or `npm ci` leaves a built dashboard) and at
// `npm start` when the sources are newer than the build (editing the dashboard needs no extra command).
import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../packages/server/dashboard/", import.meta.url));
const outDir = fileURLToPath(new URL("../packages/server/dashboard-dist/", import.meta.url));
const sources = [root, fileURLToPath(new URL("../packages/react/src/", import.meta.url))];

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.endsWith(".test.ts") || name.endsWith(".test.tsx")) continue;
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

const built = join(outDir, "index.html");
if (process.argv.includes("--if-stale") && existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) process.exit(0);
const next = `${outDir.replace(/\/$/, "")}.next-${process.pid}`;
const { build, defaultClientConditions } = await import("vite");
await build({
  root,
  base: "/",
  configFile: false,
  logLevel: "warn",
  // The dashboard bundles @runcast/react and @runcast/sdk from their sources, so it needs no package build.
  resolve: { conditions: ["@runcast/source", ...defaultClientConditions] },
  build: { outDir: next, emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
// Built beside the old one and swapped in by renames, so a server (or test) reading the dashboard while it is
// rebuilt (`npm start`, packing @runcast/server) never finds the folder half-empty.
const old = `${outDir.replace(/\/$/, "")}.old-${process.pid}`;
if (existsSync(outDir)) renameSync(outDir, old);
renameSync(next, outDir);
rmSync(old, { recursive: true, force: true });
process.stdout.write(`dashboard built into ${outDir}\n`);
