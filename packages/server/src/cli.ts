import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { cancelCommand } from "./cli/cancel.ts";
import { devCommand } from "./cli/dev.ts";
import { EXIT, toCliError } from "./cli/errors.ts";
import { keysCommand } from "./cli/keys.ts";
import { runsCommand } from "./cli/runs.ts";
import { startCommand, workerCommand } from "./cli/serve.ts";
import { triggerCommand } from "./cli/trigger.ts";

// The server modules (database, HTTP, replication) are imported by the commands that start them, so that
// `runcast runs list` and friends start in a fraction of the time.

const version = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

const HELP_AFTER = `
Commands that talk to a server use RUNCAST_API_URL (default http://localhost:3030) and RUNCAST_SECRET_KEY,
or --api-url and --secret-key. Next to a local \`runcast dev\` they need neither: its dev key is read from
its data dir (.runcast, or --data-dir). Every command has --help with examples; --json prints
machine-readable output (JSON; a JSON line per change for live views) and errors as JSON on stderr.

Exit codes:
  0    done (with --watch, or watching one run: it COMPLETED)
  1    the operation failed: the server refused it, or the watched run ended other than COMPLETED
  2    usage: unknown command or option, missing argument, a flag value that does not parse
  3    the server cannot be reached
  4    no secret key, or the server refused it (401, 403)
  130  Ctrl-C before the watched run finished

Examples:
  $ runcast dev
  $ runcast trigger hello --payload '{"name":"world"}' --watch
  $ runcast runs watch --tag user_1
`;

const program = new Command("runcast")
  .description("Runcast: background runs that people watch live, on PostgreSQL")
  .version(version, "-v, --version")
  .addCommand(devCommand())
  .addCommand(startCommand())
  .addCommand(workerCommand())
  .addCommand(triggerCommand())
  .addCommand(runsCommand())
  .addCommand(cancelCommand())
  .addCommand(keysCommand())
  .addHelpText("after", HELP_AFTER);

// Errors go to stderr as JSON for scripts that asked for JSON, even those found before the command runs.
const json = process.argv.slice(2).includes("--json");
const report = (code: string, message: string, exitCode: number) =>
  process.stderr.write(json ? `${JSON.stringify({ error: { code, message, exitCode } })}\n` : `runcast: ${message}\n`);

/** Commander reports usage errors itself with the help hint (as JSON under --json, below); they exit 2, help 0. */
function configure(cmd: Command): void {
  cmd.exitOverride();
  if (json) cmd.configureOutput({ outputError: () => {} });
  else cmd.showHelpAfterError("(add --help for usage and examples)");
  for (const sub of cmd.commands) configure(sub);
}
configure(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const done = err.code === "commander.helpDisplayed" || err.code === "commander.version" || (err.code === "commander.help" && err.exitCode === 0);
    if (!done && json) report(err.code.replace(/^commander\./, "").replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), err.message.replace(/^error: /, ""), EXIT.usage);
    process.exit(done ? EXIT.ok : EXIT.usage);
  }
  const e = toCliError(err, undefined);
  report(e.code, e.message, e.exitCode);
  // A command that failed half-way may hold sockets or timers: it ends here.
  process.exit(e.exitCode);
}
