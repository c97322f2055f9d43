// Preloaded (node --expose-gc --import) into the servers the fan-out bench measures: SIGUSR2 runs a full
// garbage collection and then writes process.memoryUsage() to <tmpdir>/runcast-bench-mem-<pid>.json, so a
// memory reading counts what the process retains rather than garbage waiting for the next collection.
// Nothing else changes in the server.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

if (typeof globalThis.gc === "function") {
  process.on("SIGUSR2", () => {
    globalThis.gc();
    writeFileSync(join(tmpdir(), `runcast-bench-mem-${process.pid}.json`), JSON.stringify(process.memoryUsage()));
  });
}
