// Builds the dashboard (packages/server/dashboard) into packages/server/dashboard-dist, which the server serves
// at `/`. Runs at install (`prepare`: a fresh clone's `npm install` or `npm ci` leaves a built dashboard) and at
// `npm start` when the sources are newer than the build (editing the dashboard needs no extra command).
import { existsSync, readdirSync, statSync } from "node:fs";
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
const { build } = await import("vite");
await build({ root, base: "/", configFile: false, logLevel: "warn", build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 2000 } });
process.stdout.write(`dashboard built into ${outDir}\n`);
