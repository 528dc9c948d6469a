/**
 * Runs Deno in a subprocess for the tests that check a whole process: that
 * it exits by itself, or what a command prints. Not published.
 *
 * @module
 */

/** The repository's root, the working directory of every subprocess. */
const ROOT: string = new URL("../", import.meta.url).pathname;

/**
 * Starts `deno run` on one of the scripts in `tests/` (e.g.
 * `_idle_exit.ts`) with the permissions such a script needs (net, env,
 * read, sys) and `env`, its output piped.
 */
export function spawnTestScript(
  name: string,
  env: Record<string, string>,
): Deno.ChildProcess {
  const script = new URL(name, import.meta.url);
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      script.pathname,
    ],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Runs `deno <args>` from the repository's root without colours, killed
 * after `timeoutMs`, and gives its exit code and output.
 */
export async function runDeno(
  args: readonly string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}
