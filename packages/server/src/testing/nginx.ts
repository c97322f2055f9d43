import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_DIR_PREFIX } from "./pg.ts";
import { freePort } from "../db/embedded.ts";

/** The repository's nginx configuration (docs/deploy.md), as users include it. */
export const NGINX_CONF = fileURLToPath(new URL("../../../../deploy/nginx/runcast.conf", import.meta.url));

const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"].find((p) => existsSync(p));

/** The `skip` option of a test behind nginx: false when nginx is there, else the reason, said in the test report. */
export const SKIP_WITHOUT_NGINX: false | string = NGINX ? false : "Debian's nginx is not installed (apt-get install nginx-light): the load-balancer tests need it";

export interface Nginx {
  url: string;
  /** One line per proxied request: `<upstream address(es)> <status> <method> <uri>`. */
  accessLog(): string[];
  stop(): Promise<void>;
}


/**
 * nginx in its own process with the repository's config, its upstream pointed at `nodes` (host:port) and
 * listening on a free port of 127.0.0.1; its files in a temporary folder. `stop()` shuts it down (SIGQUIT).
 */
export async function startNginx(nodes: string[]): Promise<Nginx> {
  if (!NGINX) throw new Error(SKIP_WITHOUT_NGINX || "nginx is missing");
  const dir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  const port = await freePort();
  const servers = nodes.map((n) => `    server ${n} max_fails=1 fail_timeout=10s;`).join("\n");
  const conf = readFileSync(NGINX_CONF, "utf8")
    .replace(/(upstream runcast \{[\s\S]*?)((?:\s*server [^;]+;)+)/, (_, head: string) => `${head}\n${servers}`)
    .replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
  if (!conf.includes(servers) || !conf.includes(`listen 127.0.0.1:${port};`)) throw new Error("deploy/nginx/runcast.conf no longer has the upstream servers and the listen line the tests replace");
  writeFileSync(join(dir, "runcast.conf"), conf);
  const user = process.getuid?.() === 0 ? "user root root;\n" : "";
  writeFileSync(
    join(dir, "nginx.conf"),
    `${user}worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  log_format upstreams '$upstream_addr $status $request_method $uri';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/runcast.conf;
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`nginx exited (${child.exitCode}): ${out}`);
    }
    const up = await fetch(`${url}/healthz`).then((r) => r.status > 0, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not answer in 10 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    accessLog: () => (existsSync(join(dir, "access.log")) ? readFileSync(join(dir, "access.log"), "utf8").split("\n").filter(Boolean) : []),
    stop,
  };
}
