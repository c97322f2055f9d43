#!/usr/bin/env node
// The `runcast` command. tsx is registered in every case: users' task files may be TypeScript and load
// without a build step.
import { existsSync } from "node:fs";
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

registerTsx();

const source = new URL("../src/cli.ts", import.meta.url);
if (existsSync(source)) {
  // A source checkout (the published package ships dist/, not src/): run the sources, and resolve the
  // workspace packages (@runcast/sdk in this process and in the task files it loads) to theirs through the
  // "@runcast/source" export condition, as `node --conditions=@runcast/source` would. Workers started by
  // `runcast dev` come through this file too.
  register(
    "data:text/javascript,export function resolve(s,c,next){return next(s,{...c,conditions:[...c.conditions,'@runcast/source']})}",
  );
  await import(source.href);
} else {
  await import("../dist/cli.js");
}
