import { Command } from "commander";
import { callApi, examples, withClient, withClientFlags, type Client, type ClientFlags } from "./client.ts";
import { CliError, EXIT, usageError } from "./errors.ts";
import { liveOutput } from "./live.ts";
import { formatAgo, table } from "./render.ts";
// A key as the key API lists it: never its secret.
import type { KeyInfo } from "../auth/keys.ts";

const listKeys = async (client: Client) => (await callApi<{ data: KeyInfo[] }>(client, "GET", "/api/v1/keys")).data;

async function list(flags: ClientFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const keys = await listKeys(client);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
      return;
    }
    const out = liveOutput(process.stdout);
    const c = out.colors;
    const now = Date.now();
    out.print(
      table(c, [
        { title: "PREFIX", text: keys.map((k) => `${k.prefix}…`), paint: (t) => c.bold(t) },
        { title: "ID", text: keys.map((k) => k.id) },
        { title: "NAME", text: keys.map((k) => k.name ?? "") },
        { title: "ENV", text: keys.map((k) => k.environment) },
        { title: "CREATED", text: keys.map((k) => formatAgo(new Date(k.createdAt), now)) },
        {
          title: "STATE",
          text: keys.map((k) => (k.revokedAt ? `revoked ${formatAgo(new Date(k.revokedAt), now)}` : "active")),
          paint: (t, i) => (keys[i]?.revokedAt ? c.red(t) : c.green(t)),
        },
      ]).join("\n"),
    );
  });
}

async function create(flags: ClientFlags & { name?: string }): Promise<void> {
  if (flags.name !== undefined && (flags.name.length === 0 || flags.name.length > 100)) throw usageError("invalid_name", "--name must be 1 to 100 characters");
  await withClient(flags, async (client) => {
    const key = await callApi<KeyInfo & { secretKey: string }>(client, "POST", "/api/v1/keys", flags.name !== undefined ? { name: flags.name } : {});
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(key, null, 2)}\n`);
      return;
    }
    const out = liveOutput(process.stdout);
    const c = out.colors;
    out.print(
      [
        `${c.green("✔")} created key ${key.id} in ${key.environment}${key.name ? ` (${key.name})` : ""}`,
        "",
        `  ${c.bold(key.secretKey)}`,
        "",
        c.dim("  It is shown this once: keep it somewhere safe (e.g. your secrets manager). Lists show its prefix only."),
      ].join("\n"),
    );
  });
}

/** A key by its id, or by its prefix (`tr_dev_AbCd`, with or without the ellipsis lists show) when exactly one key has it. */
function findKey(keys: KeyInfo[], which: string): KeyInfo {
  const byId = keys.find((k) => k.id === which);
  if (byId) return byId;
  const prefix = which.replace(/…$/, "");
  const matches = keys.filter((k) => k.prefix === prefix);
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 1) {
    throw new CliError(EXIT.failed, "ambiguous_key", `${matches.length} keys have the prefix ${prefix} (${matches.map((k) => k.id).join(", ")}): revoke by id`);
  }
  throw new CliError(EXIT.failed, "key_not_found", `no key with the id or prefix ${JSON.stringify(which)} in this environment; \`runcast keys list\` shows them`);
}

async function revoke(which: string, flags: ClientFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const key = findKey(await listKeys(client), which);
    const revoked = await callApi<KeyInfo>(client, "POST", `/api/v1/keys/${encodeURIComponent(key.id)}/revoke`);
    const self = client.secretKey.startsWith(revoked.prefix);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(revoked, null, 2)}\n`);
      return;
    }
    const out = liveOutput(process.stdout);
    const c = out.colors;
    out.print(`${c.green("✔")} revoked ${revoked.prefix}… (${revoked.id}): requests with it, and with tokens it signed, now get 401 on every node`);
    if (self) out.print(c.yellow("  that may be the key this command used: use another one from now on"));
  });
}

export function keysCommand(): Command {
  const cmd = new Command("keys").description("the environment's secret keys: list (by prefix), create, revoke");
  cmd.addCommand(
    withClientFlags(new Command("list").description("the keys of the environment, newest first (prefixes only, never secrets)"))
      .addHelpText("after", examples([["the keys of the environment the key belongs to", "runcast keys list"]]))
      .action(list),
    { isDefault: true },
  );
  cmd.addCommand(
    withClientFlags(new Command("create").description("a new secret key in the same environment; its secret is printed this once").option("--name <name>", "what the key is for"))
      .addHelpText(
        "after",
        examples([
          ["a key for a service", "runcast keys create --name billing-worker"],
          ["straight into a secrets file, for a script", "runcast keys create --name ci --json | jq -r .secretKey > ci.key"],
        ]),
      )
      .action(create),
  );
  cmd.addCommand(
    withClientFlags(
      new Command("revoke")
        .description("revoke a key for good: its requests, and those with tokens it signed, get 401 at once")
        .argument("<key>", "the key's id (key_…) or prefix (tr_dev_AbCd) as `keys list` shows it"),
    )
      .addHelpText("after", examples([["revoke by prefix", "runcast keys revoke tr_prod_AbCd"]]))
      .action(revoke),
  );
  return cmd;
}
