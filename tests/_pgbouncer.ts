/**
 * Test helper: a throwaway PgBouncer in front of a PostgreSQL server, as a
 * deployment of many instances puts an existing pooler in front of the
 * database.
 *
 * {@linkcode startPgBouncer} writes a configuration and an auth file into a
 * fresh temporary directory, listens on 127.0.0.1 only at a free port (no
 * Unix socket), and runs `pgbouncer` in the foreground as a child process
 * (as the `postgres` OS user, through its `-u` option, when the tests run as
 * root: PgBouncer refuses to run as root). Clients log in with the server's
 * own user and password (SCRAM-SHA-256; the auth file holds the password,
 * which PgBouncer also uses to log in to the server). `restart()` stops it
 * and starts a new one on the same port; `stop()` stops it and deletes the
 * directory.
 *
 * The binary is found through `PGBOUNCER`, then `/usr/sbin/pgbouncer`
 * (Debian's `pgbouncer` package), then `PATH`.
 *
 * @example In front of the throwaway cluster
 * ```ts ignore
 * import { startPgCluster } from "./_pg_cluster.ts";
 * import { startPgBouncer } from "./_pgbouncer.ts";
 *
 * await using cluster = await startPgCluster();
 * await using bouncer = await startPgBouncer(cluster, { poolMode: "transaction" });
 * console.log(bouncer.url); // postgres://dbpool:…@127.0.0.1:6432/dbpool
 * ```
 *
 * @module
 */

import { missingPermissions } from "../src/_test_permissions.ts";
import { PG_CLUSTER_NEEDS } from "./_pg_cluster.ts";

/** The server PgBouncer pools (a `PgCluster` has these fields). */
export interface PgBouncerServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/** Options of {@linkcode startPgBouncer}. */
export interface PgBouncerOptions {
  /**
   * When a server connection goes back to PgBouncer's pool: after each
   * transaction, each session, or each statement.
   *
   * @default {"transaction"}
   */
  poolMode?: "session" | "transaction" | "statement";
  /**
   * Server connections PgBouncer opens, at most, for the one
   * user/database pair (`default_pool_size`).
   *
   * @default {3}
   */
  defaultPoolSize?: number;
  /**
   * Client connections PgBouncer accepts, at most (`max_client_conn`).
   *
   * @default {100}
   */
  maxClientConn?: number;
}

/** A running PgBouncer, as returned by {@linkcode startPgBouncer}. */
export interface PgBouncer extends AsyncDisposable {
  /** `postgres://user:password@127.0.0.1:port/database`, through PgBouncer. */
  readonly url: string;
  /** The TCP port on 127.0.0.1 (the same after a restart). */
  readonly port: number;
  /** The process id of the running PgBouncer. */
  pid(): number;
  /** What PgBouncer has logged (it logs to its standard error). */
  log(): string;
  /**
   * Stops PgBouncer (SIGTERM, then SIGKILL if it has not exited within
   * 3 s): every client and server connection through it is cut. Then starts
   * a new one on the same port and resolves once it accepts connections.
   */
  restart(): Promise<void>;
  /** Stops PgBouncer and deletes its directory. Idempotent. */
  stop(): Promise<void>;
  /** The same as {@linkcode PgBouncer.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

const OS_USER = "postgres";

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** The `pgbouncer` binary, or `null`. */
async function findBinary(): Promise<string | null> {
  const candidates: string[] = [];
  const fromEnv = Deno.env.get("PGBOUNCER");
  if (fromEnv) candidates.push(fromEnv);
  candidates.push("/usr/sbin/pgbouncer");
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir) candidates.push(`${dir}/pgbouncer`);
  }
  for (const path of candidates) {
    if (await isFile(path)) return path;
  }
  return null;
}

async function osUserExists(name: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("id", {
      args: ["-u", name],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch {
    return false;
  }
}

/**
 * Why PgBouncer cannot be started here, or `null` when it can: the run
 * lacks a permission, the binary is missing, or (as root) there is no
 * `postgres` OS user to run it as.
 *
 * @returns `null`, or a sentence saying what is missing.
 */
export async function pgBouncerUnavailableReason(): Promise<string | null> {
  const missing = missingPermissions(PG_CLUSTER_NEEDS);
  if (missing.length > 0) {
    return `This run lacks ${
      missing.map((name) => `--allow-${name}`).join(", ")
    }: deno task test grants them`;
  }
  if ((await findBinary()) === null) {
    return "pgbouncer was not found: install Debian's pgbouncer package (apt-get install pgbouncer), or set PGBOUNCER to its path";
  }
  if (Deno.uid() === 0 && !(await osUserExists(OS_USER))) {
    return `Running as root, but there is no "${OS_USER}" OS user to run pgbouncer as`;
  }
  return null;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** `"value"` for PgBouncer's auth file (a `"` is doubled). */
function quoteAuth(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** A connection-string value for `[databases]` (single quotes, escaped). */
function quoteConnValue(value: string | number): string {
  return `'${String(value).replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/** One running PgBouncer process and what it has logged. */
interface Running {
  child: Deno.ChildProcess;
  text: () => string;
  /** Resolves when the log has a line matching `pattern`, or rejects once the process exits. */
  logged: (pattern: RegExp) => Promise<void>;
  /** Resolves once the log has been read to its end (the process exited). */
  drained: Promise<void>;
}

function spawn(binary: string, config: string, asPostgres: boolean): Running {
  const args = asPostgres ? ["-u", OS_USER, config] : [config];
  const child = new Deno.Command(binary, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const waiters = new Set<
    { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }
  >();
  const check = (): void => {
    for (const waiter of waiters) {
      if (waiter.pattern.test(text)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  // Always drained, so that PgBouncer never blocks on a full pipe.
  const drained = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) {
      text += chunk;
      check();
    }
    for (const waiter of waiters) {
      waiter.reject(new Error(`pgbouncer exited:\n${text.slice(-2_000)}`));
    }
    waiters.clear();
  })();
  return {
    child,
    text: () => text,
    drained,
    logged: (pattern) =>
      new Promise<void>((resolve, reject) => {
        waiters.add({ pattern, resolve, reject });
        check();
      }),
  };
}

/** Stops a PgBouncer process: SIGTERM, then SIGKILL after 3 s. */
async function terminate(running: Running): Promise<void> {
  const exited = running.child.status;
  try {
    running.child.kill("SIGTERM");
  } catch {
    // already exited
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), 3_000);
  });
  try {
    if ((await Promise.race([exited, late])) === "late") {
      running.child.kill("SIGKILL");
      await exited;
    }
  } finally {
    clearTimeout(timer);
  }
  await running.drained;
}

/**
 * Starts a throwaway PgBouncer in front of `server`.
 *
 * @param server The server to pool (a `PgCluster`, for one).
 * @param options See {@linkcode PgBouncerOptions}.
 * @returns The running PgBouncer; `stop()` (or `await using`) removes it.
 * @throws {Error} When PgBouncer cannot be started (see
 * {@linkcode pgBouncerUnavailableReason}) or does not come up; the message
 * carries its log.
 */
export async function startPgBouncer(
  server: PgBouncerServer,
  options: PgBouncerOptions = {},
): Promise<PgBouncer> {
  const reason = await pgBouncerUnavailableReason();
  if (reason !== null) throw new Error(`Cannot start pgbouncer: ${reason}`);
  const binary = (await findBinary())!;
  const asPostgres = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "dbpool_pgbouncer_" });
  const config = `${dir}/pgbouncer.ini`;
  let running: Running | null = null;
  let port = 0;
  try {
    await Deno.writeTextFile(
      `${dir}/userlist.txt`,
      `${quoteAuth(server.user)} ${quoteAuth(server.password)}\n`,
      { mode: 0o600 },
    );
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 5 && running === null; attempt++) {
      port = freePort();
      const settings = [
        "[databases]",
        `${server.database} = host=${
          quoteConnValue(server.host)
        } port=${server.port} dbname=${quoteConnValue(server.database)}`,
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        `listen_port = ${port}`,
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        `auth_file = ${dir}/userlist.txt`,
        `pool_mode = ${options.poolMode ?? "transaction"}`,
        `default_pool_size = ${options.defaultPoolSize ?? 3}`,
        `max_client_conn = ${options.maxClientConn ?? 100}`,
        // A server login that fails is retried after 1 s, not 15.
        "server_login_retry = 1",
        "",
      ].join("\n");
      await Deno.writeTextFile(config, settings);
      if (asPostgres) {
        const { code } = await new Deno.Command("chown", {
          args: ["-R", `${OS_USER}:`, dir],
          stdin: "null",
        }).output();
        if (code !== 0) throw new Error(`Cannot chown ${dir} to ${OS_USER}`);
      }
      const candidate = spawn(binary, config, asPostgres);
      try {
        await candidate.logged(/process up/);
        running = candidate;
      } catch (error) {
        lastError = error; // the port was taken meanwhile, most likely
        await terminate(candidate);
      }
    }
    if (running === null) {
      throw new Error(
        `Cannot start pgbouncer: ${
          lastError instanceof Error ? lastError.message : String(lastError)
        }`,
        { cause: lastError },
      );
    }
  } catch (error) {
    if (running !== null) await terminate(running);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }

  // Safety net: if the test process ends without stop() (an uncaught
  // error abandons the test function), kill PgBouncer on the way out.
  const onUnload = (): void => {
    try {
      running?.child.kill("SIGKILL");
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // nothing more can be done while exiting
    }
  };
  globalThis.addEventListener("unload", onUnload);
  let log = "";
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    stopped ??= (async () => {
      globalThis.removeEventListener("unload", onUnload);
      try {
        if (running !== null) {
          await terminate(running);
          log += running.text();
          running = null;
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    })();
  const user = encodeURIComponent(server.user);
  const password = encodeURIComponent(server.password);
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${
      encodeURIComponent(server.database)
    }`,
    port,
    pid: () => {
      if (running === null) throw new Error("pgbouncer is not running");
      return running.child.pid;
    },
    log: () => log + (running?.text() ?? ""),
    restart: async () => {
      if (stopped !== null || running === null) {
        throw new Error("Cannot restart pgbouncer: it is stopped");
      }
      await terminate(running);
      log += running.text();
      running = null;
      const next = spawn(binary, config, asPostgres);
      try {
        await next.logged(/process up/);
      } catch (error) {
        await terminate(next);
        log += next.text();
        throw error;
      }
      running = next;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
