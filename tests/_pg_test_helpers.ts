/**
 * Helpers shared by the live PostgreSQL tests. Not published.
 *
 * @module
 */

import type { PgCluster } from "./_pg_cluster.ts";

/**
 * Statements the server logged for one backend (needs `logStatements`):
 * simple-protocol lines (`statement: …`) and extended-protocol executions
 * (`execute <name>: …`).
 */
export async function loggedStatements(
  cluster: PgCluster,
  pid: number,
): Promise<string[]> {
  const marker = `[${pid}] `;
  const pattern = / LOG: {2}(?:statement|execute [^:]*): (.*)$/;
  return (await cluster.readLog()).split("\n")
    .filter((line) => line.includes(marker))
    .map((line) => pattern.exec(line)?.[1])
    .filter((statement) => statement !== undefined);
}

/** Polls `condition` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
