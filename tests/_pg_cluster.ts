/**
 * Test helper: a throwaway PostgreSQL cluster for the live-database tests
 * and benches.
 *
 * {@linkcode startPgCluster} runs `initdb` into a fresh temporary directory
 * (as the `postgres` OS user when the tests run as root), listens on
 * 127.0.0.1 only at a free port with its Unix sockets inside that directory,
 * logs to a file there (optionally every statement, so tests can count
 * them), and starts the server with `pg_ctl -w`. `stop()` stops the server
 * and deletes the directory. When `DATABASE_URL` is set, that server is used
 * instead and `stop()` does nothing.
 *
 * The binaries are found through `PG_BINDIR`, then `pg_config --bindir`,
 * then the newest `/usr/lib/postgresql/<version>/bin`, then `PATH`.
 *
 * @example Start, use, stop
 * ```ts ignore
 * import { startPgCluster } from "./_pg_cluster.ts";
 *
 * await using cluster = await startPgCluster({ logStatements: true });
 * console.log(cluster.url); // postgres://dbpool:…@127.0.0.1:54321/dbpool
 * ```
 *
 * @module
 */

import { missingPermissions, type Needs } from "../src/_test_permissions.ts";

/** Options of {@linkcode startPgCluster}. */
export interface PgClusterOptions {
  /**
   * Log every statement (`log_statement = 'all'`) to
   * {@linkcode PgCluster.logFile}. Ignored with `DATABASE_URL`.
   *
   * @default {false}
   */
  logStatements?: boolean;
  /**
   * Use this server instead of starting one.
   *
   * @default {Deno.env.get("DATABASE_URL")}
   */
  databaseUrl?: string | undefined;
  /**
   * Extra `postgresql.conf` settings, written verbatim
   * (`{ max_connections: 50 }` → `max_connections = '50'`).
   *
   * @default {{}}
   */
  settings?: Readonly<Record<string, string | number | boolean>>;
}

/** A running server, as returned by {@linkcode startPgCluster}. */
export interface PgCluster extends AsyncDisposable {
  /** `postgres://user:password@127.0.0.1:port/database`. */
  readonly url: string;
  /** The TCP host, `127.0.0.1` for a throwaway cluster. */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** The role (a superuser for a throwaway cluster). */
  readonly user: string;
  /** The role's password. */
  readonly password: string;
  /** The database name. */
  readonly database: string;
  /**
   * The directory of the server's Unix socket (`<socketDir>/.s.PGSQL.<port>`);
   * `null` with `DATABASE_URL`.
   */
  readonly socketDir: string | null;
  /** The data directory; `null` with `DATABASE_URL`. */
  readonly dataDir: string | null;
  /** The server log; `null` with `DATABASE_URL`. */
  readonly logFile: string | null;
  /** `true` when the server came from `DATABASE_URL` (not started here). */
  readonly external: boolean;
  /** Reads the whole server log (`""` with `DATABASE_URL`). */
  readLog(): Promise<string>;
  /**
   * Restarts the server (`pg_ctl restart -m fast -w`): every connection is
   * cut, the port stays the same.
   *
   * @throws {Error} With `DATABASE_URL`.
   */
  restart(): Promise<void>;
  /**
   * Stops the server and deletes its directory. Idempotent; a no-op with
   * `DATABASE_URL`.
   */
  stop(): Promise<void>;
  /** The same as {@linkcode PgCluster.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The permissions {@linkcode startPgCluster} and the tests on its server
 * use: `env` (`DATABASE_URL`, `PG_BINDIR`, the drivers' `PG*` variables),
 * `run` (`initdb`, `pg_ctl`), `sys` (the user id), `read` and `write` (the
 * cluster's directory) and `net`. A test that needs the cluster is ignored
 * without them (see `needs()` in `src/_test_permissions.ts`).
 */
export const PG_CLUSTER_NEEDS: Needs = {
  env: true,
  net: true,
  read: true,
  run: true,
  sys: true,
  write: true,
};

const OS_USER = "postgres";
const ROLE = "dbpool";
const DATABASE = "dbpool";

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  command: string,
  args: readonly string[],
  options: { asPostgres?: boolean; cwd?: string } = {},
): Promise<RunResult> {
  const [cmd, argv] = options.asPostgres === true
    ? ["runuser", ["-u", OS_USER, "--", command, ...args]]
    : [command, [...args]];
  const output = await new Deno.Command(cmd, {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

async function runOrThrow(
  command: string,
  args: readonly string[],
  options: { asPostgres?: boolean; cwd?: string } = {},
): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `Cannot run "${command}": exit code ${result.code}: ${
        (result.stderr || result.stdout).trim()
      }`,
    );
  }
  return result;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Finds the directory holding `initdb` and `pg_ctl`, or `null`. */
async function findBinDir(): Promise<string | null> {
  const candidates: string[] = [];
  const fromEnv = Deno.env.get("PG_BINDIR");
  if (fromEnv) candidates.push(fromEnv);
  try {
    const result = await run("pg_config", ["--bindir"]);
    if (result.code === 0) candidates.push(result.stdout.trim());
  } catch {
    // pg_config is not installed
  }
  try {
    const versions: number[] = [];
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      const version = Number(entry.name);
      if (entry.isDirectory && Number.isFinite(version)) versions.push(version);
    }
    versions.sort((a, b) => b - a);
    for (const version of versions) {
      candidates.push(`/usr/lib/postgresql/${version}/bin`);
    }
  } catch {
    // no Debian layout
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir) candidates.push(dir);
  }
  for (const dir of candidates) {
    if (
      await isFile(`${dir}/initdb`) && await isFile(`${dir}/pg_ctl`) &&
      await isFile(`${dir}/postgres`)
    ) {
      return dir;
    }
  }
  return null;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

async function osUserExists(name: string): Promise<boolean> {
  try {
    return (await run("id", ["-u", name])).code === 0;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

function quoteConf(value: string | number | boolean): string {
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * Why no PostgreSQL server can be used here, or `null` when one can (the
 * run has {@linkcode PG_CLUSTER_NEEDS}, and either `DATABASE_URL` is set or
 * `initdb`/`pg_ctl` are installed and, as root, the `postgres` OS user
 * exists). Benches call it to skip with a clear message.
 *
 * @returns `null`, or a sentence saying what is missing.
 */
export async function pgClusterUnavailableReason(): Promise<string | null> {
  const missing = missingPermissions(PG_CLUSTER_NEEDS);
  if (missing.length > 0) {
    return `This run lacks ${
      missing.map((name) => `--allow-${name}`).join(", ")
    }: deno task test grants them`;
  }
  if (Deno.env.get("DATABASE_URL")) return null;
  const binDir = await findBinDir();
  if (binDir === null) {
    return "PostgreSQL server binaries (initdb, pg_ctl) were not found: install Debian's postgresql package, set PG_BINDIR or set DATABASE_URL";
  }
  if (isRoot() && !(await osUserExists(OS_USER))) {
    return `Running as root, but there is no "${OS_USER}" OS user to run the server as: install Debian's postgresql package or set DATABASE_URL`;
  }
  return null;
}

/**
 * Whether a server can be started or reached (see
 * {@linkcode pgClusterUnavailableReason}).
 *
 * @returns `true` when {@linkcode startPgCluster} can be expected to work.
 */
export async function canStartPgCluster(): Promise<boolean> {
  return (await pgClusterUnavailableReason()) === null;
}

function externalCluster(databaseUrl: string): PgCluster {
  const parsed = new URL(databaseUrl);
  const noop = (): Promise<void> => Promise.resolve();
  return {
    url: databaseUrl,
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    socketDir: null,
    dataDir: null,
    logFile: null,
    external: true,
    readLog: () => Promise.resolve(""),
    restart: () =>
      Promise.reject(
        new Error("Cannot restart the server: it comes from DATABASE_URL"),
      ),
    stop: noop,
    [Symbol.asyncDispose]: noop,
  };
}

/**
 * Starts a throwaway PostgreSQL cluster, or wraps `DATABASE_URL`.
 *
 * The cluster has one superuser role `dbpool` (password authentication over
 * TCP, SCRAM-SHA-256; trust over its private Unix socket) and a database
 * `dbpool`. Durability is off (`fsync`, `synchronous_commit`,
 * `full_page_writes`) since the data is thrown away.
 *
 * @param options See {@linkcode PgClusterOptions}.
 * @returns The running server; call `stop()` (or `await using`) to remove it.
 * @throws {Error} When the binaries are missing or the server does not start;
 * the message carries the tool's output and the log's tail.
 */
export async function startPgCluster(
  options: PgClusterOptions = {},
): Promise<PgCluster> {
  const databaseUrl = "databaseUrl" in options
    ? options.databaseUrl
    : Deno.env.get("DATABASE_URL");
  if (databaseUrl) return externalCluster(databaseUrl);

  const reason = await pgClusterUnavailableReason();
  if (reason !== null) throw new Error(`Cannot start PostgreSQL: ${reason}`);
  const binDir = (await findBinDir())!;
  const asPostgres = isRoot();

  const baseDir = await Deno.makeTempDir({ prefix: "dbpool_pg_" });
  const dataDir = `${baseDir}/data`;
  const logFile = `${baseDir}/postgresql.log`;
  const password = `pw_${crypto.randomUUID().replaceAll("-", "")}`;
  let started = false;

  const pgCtl = (args: string[]): Promise<RunResult> =>
    runOrThrow(`${binDir}/pg_ctl`, ["-D", dataDir, ...args], {
      asPostgres,
      cwd: baseDir,
    });
  const logTail = async (): Promise<string> => {
    try {
      return (await Deno.readTextFile(logFile)).split("\n").slice(-20).join(
        "\n",
      );
    } catch {
      return "";
    }
  };

  try {
    await Deno.writeTextFile(`${baseDir}/pwfile`, `${password}\n`);
    if (asPostgres) {
      await runOrThrow("chown", ["-R", `${OS_USER}:`, baseDir]);
    }
    await runOrThrow(`${binDir}/initdb`, [
      "-D",
      dataDir,
      "-U",
      ROLE,
      `--pwfile=${baseDir}/pwfile`,
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
    ], { asPostgres, cwd: baseDir });
    await Deno.remove(`${baseDir}/pwfile`);

    let lastError: unknown = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = freePort();
      const settings: Record<string, string | number | boolean> = {
        "listen_addresses": "127.0.0.1",
        port,
        "unix_socket_directories": baseDir,
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "logging_collector": "off",
        "log_line_prefix": "%m [%p] %q%u@%d ",
        "log_statement": options.logStatements === true ? "all" : "none",
        ...options.settings,
      };
      const conf = Object.entries(settings)
        .map(([key, value]) => `${key} = ${quoteConf(value)}`)
        .join("\n");
      // postgresql.auto.conf is read last; rewriting it keeps retries clean.
      await Deno.writeTextFile(`${dataDir}/postgresql.auto.conf`, `${conf}\n`);
      try {
        await pgCtl(["-l", logFile, "-w", "-t", "60", "start"]);
      } catch (error) {
        lastError = error;
        continue;
      }
      started = true;
      await runOrThrow(`${binDir}/createdb`, [
        "-h",
        baseDir,
        "-p",
        String(port),
        "-U",
        ROLE,
        DATABASE,
      ], { asPostgres, cwd: baseDir });

      // Safety net: if the test process ends without stop() (an uncaught
      // error abandons the test function), stop the server on the way out.
      const onUnload = (): void => {
        if (!started) return;
        started = false;
        const [cmd, args] = asPostgres
          ? ["runuser", ["-u", OS_USER, "--", `${binDir}/pg_ctl`]]
          : [`${binDir}/pg_ctl`, []];
        try {
          new Deno.Command(cmd, {
            args: [...args, "-D", dataDir, "-w", "-m", "immediate", "stop"],
            cwd: baseDir,
            stdin: "null",
            stdout: "null",
            stderr: "null",
          }).outputSync();
          Deno.removeSync(baseDir, { recursive: true });
        } catch {
          // nothing more can be done while exiting
        }
      };
      globalThis.addEventListener("unload", onUnload);

      let stopped: Promise<void> | null = null;
      const stop = (): Promise<void> =>
        stopped ??= (async () => {
          globalThis.removeEventListener("unload", onUnload);
          try {
            if (started) await pgCtl(["-w", "-t", "60", "-m", "fast", "stop"]);
          } finally {
            started = false;
            await Deno.remove(baseDir, { recursive: true });
          }
        })();
      return {
        url: `postgres://${ROLE}:${password}@127.0.0.1:${port}/${DATABASE}`,
        host: "127.0.0.1",
        port,
        user: ROLE,
        password,
        database: DATABASE,
        socketDir: baseDir,
        dataDir,
        logFile,
        external: false,
        readLog: () => Deno.readTextFile(logFile),
        restart: async () => {
          if (stopped !== null) {
            throw new Error("Cannot restart the server: it is stopped");
          }
          await pgCtl([
            "-l",
            logFile,
            "-w",
            "-t",
            "60",
            "-m",
            "fast",
            "restart",
          ]);
        },
        stop,
        [Symbol.asyncDispose]: stop,
      };
    }
    throw new Error(
      `Cannot start PostgreSQL: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }\n${await logTail()}`,
      { cause: lastError },
    );
  } catch (error) {
    if (started) {
      await pgCtl(["-w", "-m", "immediate", "stop"]).catch(() => {});
    }
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    throw error;
  }
}
