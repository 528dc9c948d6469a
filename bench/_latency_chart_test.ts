import assert from "node:assert/strict";
import {
  type Cell,
  formatCount,
  formatMicroseconds,
  type LatencyResult,
  renderLatencyChart,
} from "./_latency_chart.ts";

function result(): LatencyResult {
  const pools = ["AsyncAdaptedQueuePool", "tarn <3>", "bare linked-list pool"];
  const cells: Cell[] = pools.flatMap((pool, p) =>
    [16, 64, 1024].map((workers, w) => {
      const stats = {
        throughput: 2e6 / (p + 1) / (w + 1),
        timedThroughput: 1e6 / (p + 1) / (w + 1),
        p50Us: 0.4 * (p + 1) * 16 ** w,
        p99Us: 3 * (p + 1) * 16 ** w,
        p999Us: 9 * (p + 1) * 16 ** w,
        maxUs: 20 * (p + 1) * 16 ** w,
      };
      return { pool, workers, ...stats, rounds: [stats] };
    })
  );
  return {
    date: "2026-12-03",
    machine: {
      cpu: "Test CPU & Co",
      cores: 2,
      deno: "2.9.6",
      v8: "15.0",
      os: "linux",
      loadAverage: [1, 1, 1],
    },
    settings: {
      poolSize: 16,
      workers: [16, 64, 1024],
      cycles: 65_536,
      rounds: 15,
      warmupRounds: 1,
    },
    clock: { performanceNowNs: 99, awaitFloorUs: 0.1 },
    pools,
    cells,
  };
}

Deno.test("renderLatencyChart() draws one line per pool in each panel, with the machine and date in the title", () => {
  const svg = renderLatencyChart(result());
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.equal(svg.match(/<polyline /g)?.length, 2 * 3);
  assert.equal(svg.match(/<circle /g)?.length, 2 * 3 * 3);
  assert.match(
    svg,
    /Test CPU &amp; Co, 2 cores · Deno 2\.9\.6 \(V8 15\.0\) · 2026-12-03/,
  );
  assert.match(svg, />tarn &lt;3&gt;</);
  assert.match(svg, /Throughput \(cycles\/s/);
  assert.match(svg, /p99 checkout latency/);
  assert.match(svg, /about 99 ns/);
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
});

Deno.test("formatCount() and formatMicroseconds() print short axis labels", () => {
  assert.equal(formatCount(2_500_000), "2.5M");
  assert.equal(formatCount(200_000), "200k");
  assert.equal(formatCount(950), "950");
  assert.equal(formatMicroseconds(0.25), "0.3 µs");
  assert.equal(formatMicroseconds(12.4), "12 µs");
  assert.equal(formatMicroseconds(1500), "1.5 ms");
});
