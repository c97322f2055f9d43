// Preloaded (node --import) into bench children that have no IPC channel, such as the Runcast server
// started through its CLI: when the bench process that spawned it disappears (killed without a chance
// to clean up), the child is re-parented and sends itself SIGTERM, so no server outlives a bench run.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, "SIGTERM");
}, 500).unref();
