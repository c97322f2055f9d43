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

/** Commander reports usage errors itself (with the help hint); they end with exit code 2, help with 0. */
function configure(cmd: Command): void {
  cmd.exitOverride().showHelpAfterError("(add --help for usage and examples)");
  for (const sub of cmd.commands) configure(sub);
}
configure(program);

let json = false;
program.hook("preAction", (_program, action) => {
  json = !!action.opts().json;
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    const done = err.code === "commander.helpDisplayed" || err.code === "commander.version" || (err.code === "commander.help" && err.exitCode === 0);
    process.exit(done ? EXIT.ok : EXIT.usage);
  }
  const e = toCliError(err, undefined);
  process.stderr.write(json ? `${JSON.stringify({ error: { code: e.code, message: e.message, exitCode: e.exitCode } })}\n` : `runcast: ${e.message}\n`);
  // A command that failed half-way may hold sockets or timers: it ends here.
  process.exit(e.exitCode);
}
