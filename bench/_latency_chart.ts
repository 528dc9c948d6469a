/**
 * The chart of `latency.ts`, drawn as SVG by hand (no chart dependency):
 * two panels side by side, throughput (cycles/s) and p99 checkout latency
 * (µs), both on log scales, with one line per pool against the number of
 * workers (16, 64, 1024, on a log scale too). Internal to `bench/`.
 *
 * @module
 */

/** The machine a result was measured on. */
export interface Machine {
  /** CPU model, from `/proc/cpuinfo` (through `node:os`). */
  cpu: string;
  /** Logical cores (`navigator.hardwareConcurrency`). */
  cores: number;
  deno: string;
  v8: string;
  os: string;
  /** The load average before the run (1, 5 and 15 minutes). */
  loadAverage: number[];
}

/** Statistics of one pool at one worker count. */
export interface Stats {
  /** Cycles per second of the untimed runs. */
  throughput: number;
  /** Cycles per second of the timed runs (the clock's cost included). */
  timedThroughput: number;
  /** Checkout latency percentiles, in microseconds. */
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** One pool at one worker count: medians over the rounds, and each round. */
export interface Cell extends Stats {
  pool: string;
  workers: number;
  rounds: Stats[];
}

/** What `latency.ts` writes to `latency.json`. */
export interface LatencyResult {
  /** `YYYY-MM-DD`. */
  date: string;
  machine: Machine;
  settings: {
    poolSize: number;
    workers: number[];
    cycles: number;
    rounds: number;
    warmupRounds: number;
  };
  /** What the instrument costs. */
  clock: {
    /** One `performance.now()` call, in nanoseconds. */
    performanceNowNs: number;
    /**
     * p50 of a timed `await` of an already resolved promise, in
     * microseconds: the floor of any measured checkout latency.
     */
    awaitFloorUs: number;
  };
  /** Pool names in legend order. */
  pools: string[];
  cells: Cell[];
}

const WIDTH = 960;
const HEIGHT = 620;
/** The two panels: their top, size, the gap between them, the left margin. */
const PANEL = { top: 116, height: 330, width: 360, gap: 110, left: 90 };
const FONT = "DejaVu Sans, Verdana, Helvetica, Arial, sans-serif";
/**
 * Okabe–Ito colours (distinguishable with colour blindness), in the order
 * of `pools`: ours first. The bare pool (the floor) is grey and dashed.
 */
const COLOURS = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#D55E00",
  "#56B4E9",
  "#F0E442",
];
const FLOOR_COLOUR = "#555555";

function isFloor(pool: string): boolean {
  return pool.startsWith("bare");
}

/** The line style of the pool at `index` of `pools`. */
function styleOf(pool: string, index: number): Record<string, string> {
  return {
    stroke: isFloor(pool) ? FLOOR_COLOUR : COLOURS[index % COLOURS.length]!,
    "stroke-width": index === 0 ? "3.5" : "2",
    ...(isFloor(pool) ? { "stroke-dasharray": "6 4" } : {}),
  };
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** One SVG element; numbers are rounded to 0.1. */
function el(
  name: string,
  attributes: Record<string, string | number>,
  text?: string,
): string {
  const attrs = Object.entries(attributes)
    .map(([key, value]) =>
      `${key}="${
        typeof value === "number"
          ? String(Math.round(value * 10) / 10)
          : escapeXml(value)
      }"`
    )
    .join(" ");
  return text === undefined
    ? `<${name} ${attrs}/>`
    : `<${name} ${attrs}>${escapeXml(text)}</${name}>`;
}

/** A number with at most one decimal and no trailing zero. */
function short(value: number): string {
  return String(Number(value.toFixed(1)));
}

/** `1.5M`, `200k`, `950`. */
export function formatCount(value: number): string {
  if (value >= 1e6) return `${short(value / 1e6)}M`;
  if (value >= 1e3) return `${short(value / 1e3)}k`;
  return short(value);
}

/** `0.3 µs`, `12 µs`, `1.5 ms`. */
export function formatMicroseconds(us: number): string {
  if (us >= 1000) return `${short(us / 1000)} ms`;
  if (us >= 10) return `${Math.round(us)} µs`;
  return `${short(us)} µs`;
}

/**
 * A log-scale axis (its bounds as log10) from the 1-2-5 step at or below
 * the smallest value to the one at or above the largest. Labelled ticks at
 * every step when the range is short, else at each power of ten, with the
 * 2s and 5s as unlabelled lines.
 */
function logAxis(values: readonly number[]): {
  lo: number;
  hi: number;
  ticks: number[];
  minor: number[];
} {
  const positive = values.filter((v) => v > 0);
  const min = Math.min(...positive);
  const max = Math.max(...positive);
  const steps: number[] = [];
  const first = Math.floor(Math.log10(min)) - 1;
  for (let e = first; e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) steps.push(Number((m * 10 ** e).toPrecision(1)));
  }
  const lo = steps.filter((v) => v <= min).at(-1)!;
  const hi = steps.find((v) => v >= max)!;
  const inside = steps.filter((v) => v >= lo && v <= hi);
  const fewDecades = Math.log10(hi / lo) <= 2.5;
  const isDecade = (v: number): boolean =>
    String(v).replace(/0+$/, "") === "1" ||
    /^0\.0*1$/.test(String(v));
  return {
    lo: Math.log10(lo),
    hi: Math.log10(hi === lo ? hi * 10 : hi),
    ticks: inside.filter((v) => fewDecades || isDecade(v)),
    minor: inside.filter((v) => !fewDecades && !isDecade(v)),
  };
}

interface PanelSpec {
  x: number;
  title: string;
  value: (cell: Cell) => number;
  format: (value: number) => string;
  note: string;
}

/**
 * Renders `result` as an SVG document: a title with the machine and the
 * date, the two panels, a legend and a caption on the instrument's cost.
 *
 * @param result What `latency.ts` measured.
 * @returns The SVG text.
 */
export function renderLatencyChart(result: LatencyResult): string {
  const { machine, settings, clock, pools, cells } = result;
  const workers = settings.workers;
  const xLo = Math.log2(Math.min(...workers));
  const xHi = Math.log2(Math.max(...workers));
  const middle = WIDTH / 2;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}" font-size="12">`,
    el("rect", { width: WIDTH, height: HEIGHT, fill: "#ffffff" }),
    el(
      "text",
      {
        x: middle,
        y: 30,
        "text-anchor": "middle",
        "font-size": 18,
        "font-weight": "bold",
      },
      `Pool checkout under contention: ${settings.poolSize} connections, ${
        workers.join(" / ")
      } workers`,
    ),
    el(
      "text",
      { x: middle, y: 54, "text-anchor": "middle", fill: "#333333" },
      `${machine.cpu}, ${machine.cores} cores · Deno ${machine.deno} (V8 ${machine.v8}) · ${result.date}`,
    ),
    el(
      "text",
      { x: middle, y: 72, "text-anchor": "middle", fill: "#333333" },
      `acquire → await null → release, ${
        formatCount(settings.cycles)
      } cycles per run; medians of ${settings.rounds} interleaved rounds`,
    ),
  ];

  const panels: PanelSpec[] = [
    {
      x: PANEL.left,
      title: "Throughput (cycles/s, higher is better)",
      value: (cell) => cell.throughput,
      format: formatCount,
      note: "untimed runs",
    },
    {
      x: PANEL.left + PANEL.width + PANEL.gap,
      title: "p99 checkout latency (lower is better)",
      value: (cell) => cell.p99Us,
      format: formatMicroseconds,
      note: "timed runs",
    },
  ];
  const bottom = PANEL.top + PANEL.height;
  for (const panel of panels) {
    const axis = logAxis(cells.map(panel.value));
    const right = panel.x + PANEL.width;
    const px = (w: number): number =>
      panel.x + ((Math.log2(w) - xLo) / (xHi - xLo)) * PANEL.width;
    const py = (v: number): number =>
      bottom - ((Math.log10(v) - axis.lo) / (axis.hi - axis.lo)) * PANEL.height;

    out.push(el("text", {
      x: panel.x + PANEL.width / 2,
      y: PANEL.top - 12,
      "text-anchor": "middle",
      "font-size": 14,
      "font-weight": "bold",
    }, panel.title));
    for (const v of axis.minor) {
      const y = py(v);
      out.push(
        el("line", { x1: panel.x, x2: right, y1: y, y2: y, stroke: "#eeeeee" }),
      );
    }
    for (const v of axis.ticks) {
      const y = py(v);
      out.push(
        el("line", { x1: panel.x, x2: right, y1: y, y2: y, stroke: "#d0d0d0" }),
      );
      out.push(
        el(
          "text",
          { x: panel.x - 8, y: y + 4, "text-anchor": "end" },
          panel.format(v),
        ),
      );
    }
    for (const w of workers) {
      const x = px(w);
      out.push(
        el("line", {
          x1: x,
          x2: x,
          y1: PANEL.top,
          y2: bottom,
          stroke: "#d0d0d0",
        }),
      );
      out.push(
        el("text", { x, y: bottom + 18, "text-anchor": "middle" }, String(w)),
      );
    }
    out.push(el("rect", {
      x: panel.x,
      y: PANEL.top,
      width: PANEL.width,
      height: PANEL.height,
      fill: "none",
      stroke: "#888888",
    }));
    out.push(
      el(
        "text",
        {
          x: panel.x + PANEL.width / 2,
          y: bottom + 38,
          "text-anchor": "middle",
        },
        `workers on ${settings.poolSize} connections (log scale); ${panel.note}`,
      ),
    );
    pools.forEach((pool, index) => {
      const style = styleOf(pool, index);
      const points = workers.flatMap((w) => {
        const cell = cells.find((c) => c.pool === pool && c.workers === w);
        return cell === undefined
          ? []
          : [[px(w), py(panel.value(cell))] as const];
      });
      out.push(el("polyline", {
        fill: "none",
        ...style,
        points: points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(
          " ",
        ),
      }));
      for (const [x, y] of points) {
        out.push(
          el("circle", {
            cx: x,
            cy: y,
            r: index === 0 ? 4.5 : 3.5,
            fill: style.stroke!,
          }),
        );
      }
    });
  }

  // The legend: rows of three entries under the panels.
  const legendTop = bottom + 66;
  const column = (2 * PANEL.width + PANEL.gap) / 3;
  pools.forEach((pool, index) => {
    const x = PANEL.left + (index % 3) * column;
    const y = legendTop + Math.floor(index / 3) * 22;
    out.push(
      el("line", { x1: x, x2: x + 26, y1: y, y2: y, ...styleOf(pool, index) }),
    );
    out.push(el("text", {
      x: x + 32,
      y: y + 4,
      ...(index === 0 ? { "font-weight": "bold" } : {}),
    }, pool));
  });

  const captionTop = legendTop + Math.ceil(pools.length / 3) * 22 + 12;
  const caption = [
    `Latency: performance.now() before each call and after its resolution, kept in a Float64Array allocated before the run.`,
    `One performance.now() costs about ${
      Math.round(clock.performanceNowNs)
    } ns here (two per checkout); a timed await of a resolved promise measures ${
      formatMicroseconds(clock.awaitFloorUs)
    }.`,
    `Throughput comes from untimed runs of the same loop, interleaved with the timed ones.`,
  ];
  caption.forEach((line, i) => {
    out.push(el("text", {
      x: middle,
      y: captionTop + i * 16,
      "text-anchor": "middle",
      "font-size": 11,
      fill: "#444444",
    }, line));
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
