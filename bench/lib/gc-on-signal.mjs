// Preloaded (node --expose-gc --import) into the servers the fan-out bench measures: SIGUSR2 runs a full
// garbage collection, so a memory reading taken after it counts what the process retains rather than
// garbage waiting for the next collection. Nothing else changes in the server.
if (typeof globalThis.gc === "function") process.on("SIGUSR2", () => globalThis.gc());
