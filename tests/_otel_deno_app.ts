/**
 * A script for `otel_deno_test.ts`: a pool instrumented with the global
 * meter, which Deno's built-in OpenTelemetry provides under
 * `OTEL_DENO=true`. It makes ten checkouts, keeps an eleventh, says
 * `ready`, and waits to be killed while Deno exports its metrics.
 *
 * @module
 */

import { QueuePool } from "../mod.ts";
import { instrumentPool } from "../src/otel.ts";

const pool = new QueuePool(() => ({}), { loggingName: "primary" });
instrumentPool(pool);
for (let i = 0; i < 10; i++) await (await pool.connect()).close();
const held = await pool.connect();
// deno-lint-ignore no-console -- read by the test
console.log("ready");
// Kept alive (and `held` out) until the test has seen an export.
setInterval(() => void held, 60_000);
