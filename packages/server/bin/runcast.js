#!/usr/bin/env node
// Runs the TypeScript sources (and users' TypeScript task files) without a build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli.ts");
