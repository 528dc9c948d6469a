/**
 * `instrumentPool()` with Deno's built-in OpenTelemetry (`OTEL_DENO=true`),
 * as a Deno Deploy application would use it: a subprocess exports its
 * metrics over OTLP (HTTP, JSON) to a collector on loopback, and the
 * collector sees every instrument with the pool's name and its values.
 *
 * @module
 */

import assert from "node:assert/strict";
import { needs } from "../src/_test_permissions.ts";
import { spawnTestScript } from "./_deno_subprocess.ts";
import { within } from "./_pg_test_helpers.ts";

/** One OTLP/JSON data point, as far as this test reads it. */
interface JsonPoint {
  attributes?: { key: string; value: { stringValue?: string } }[];
  asDouble?: number;
  asInt?: string;
  count?: string;
}

/** One OTLP/JSON metric, as far as this test reads it. */
interface JsonMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints: JsonPoint[] };
  histogram?: { dataPoints: JsonPoint[] };
}

/** The metrics of one export, by name. */
function metricsOf(body: unknown): Map<string, JsonMetric> {
  const byName = new Map<string, JsonMetric>();
  const resources =
    (body as { resourceMetrics?: { scopeMetrics?: unknown[] }[] })
      .resourceMetrics ?? [];
  for (const resource of resources) {
    for (const scope of resource.scopeMetrics ?? []) {
      for (
        const metric of (scope as { metrics?: JsonMetric[] }).metrics ?? []
      ) {
        byName.set(metric.name, metric);
      }
    }
  }
  return byName;
}

function attribute(point: JsonPoint, key: string): string | undefined {
  return point.attributes?.find((item) => item.key === key)?.value
    .stringValue;
}

const NAMES = [
  "db.client.connection.count",
  "db.client.connection.idle.max",
  "db.client.connection.idle.min",
  "db.client.connection.max",
  "db.client.connection.pending_requests",
  "db.client.connection.timeouts",
  "db.client.connection.create_time",
  "db.client.connection.wait_time",
  "db.client.connection.use_time",
];

Deno.test({
  name:
    "with OTEL_DENO=true, Deno's own exporter sends every pool instrument with the pool's name and values",
  ...needs({ run: true, net: true, read: true }),
}, async () => {
  let seen: (metrics: Map<string, JsonMetric>) => void = () => {};
  const exported = new Promise<Map<string, JsonMetric>>((resolve) => {
    seen = resolve;
  });
  await using server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (request) => {
    const body = await request.json();
    if (new URL(request.url).pathname === "/v1/metrics") {
      const metrics = metricsOf(body);
      if (NAMES.every((name) => metrics.has(name))) seen(metrics);
    }
    return Response.json({});
  });
  const child = spawnTestScript("./_otel_deno_app.ts", {
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
    OTEL_METRIC_EXPORT_INTERVAL: "200",
    OTEL_SERVICE_NAME: "dbpool-test",
  });
  const output = child.output();
  let metrics: Map<string, JsonMetric>;
  try {
    metrics = await within(exported, 30_000, "an export of every instrument");
  } finally {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone: its output says why.
    }
  }
  const { stdout } = await output;
  assert.match(new TextDecoder().decode(stdout), /ready/);

  for (const name of NAMES) {
    const metric = metrics.get(name)!;
    const points = metric.sum?.dataPoints ?? metric.histogram?.dataPoints ??
      [];
    assert.ok(points.length > 0, name);
    for (const point of points) {
      assert.equal(
        attribute(point, "db.client.connection.pool.name"),
        "primary",
        name,
      );
    }
  }
  const count = metrics.get("db.client.connection.count")!.sum!.dataPoints;
  const byState = Object.fromEntries(
    count.map((
      point,
    ) => [attribute(point, "db.client.connection.state"), point.asDouble]),
  );
  // One connection, held by the script.
  assert.deepEqual(byState, { idle: 0, used: 1 });
  const max = metrics.get("db.client.connection.max")!.sum!.dataPoints[0]!;
  assert.equal(max.asDouble, 15); // poolSize 5 + maxOverflow 10
  const waits = metrics.get("db.client.connection.wait_time")!.histogram!
    .dataPoints[0]!;
  assert.equal(Number(waits.count), 11);
  assert.equal(metrics.get("db.client.connection.wait_time")!.unit, "s");
});
