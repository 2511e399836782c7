// Metric charts on uPlot: a real x axis (step, time or version), several series, a tooltip
// that follows the cursor, drag to zoom (double-click resets), a log scale, and a marked
// current point.
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./charts.css";
import { formatDuration, formatNumber } from "../api/tracking";

export { formatNumber };

export type XKind = "step" | "time" | "elapsed" | "version";

export interface ChartSeries {
  label: string;
  /** x of each point: a step, milliseconds since the epoch, seconds since the run's start, or a version's position */
  x: number[];
  y: (number | null)[];
}

export interface ChartProps {
  title: string;
  series: ChartSeries[];
  xKind?: XKind;
  /** labels of the x positions when xKind is "version" */
  xLabels?: string[];
  /** the point to mark (the current version, the latest value) */
  current?: { x: number; y: number; label?: string };
  height?: number;
  /** start on a log scale (only offered when every value is positive) */
  log?: boolean;
  testId?: string;
}

/**
 * Twenty colours, each at least 3:1 against the light and the dark surfaces alike; the first ten
 * and the last ten are each far apart (a colour difference of 27 or more), the two tens nearer.
 */
export const PALETTE = [
  "#2563eb", "#dc2626", "#16a34a", "#d47206", "#9333ea", "#0891b2", "#db2777", "#78716c", "#047857", "#4d7c0f",
  "#f43f5e", "#d946ef", "#0284c7", "#ea580c", "#a16207", "#3b82f6", "#8b5cf6", "#64748b", "#15803d", "#0d9488",
];
// Each ten series take another line: solid, dashed, dotted. A series is told from the others
// by its colour and its line, so sixty differ before any two look alike.
const DASHES: (number[] | undefined)[] = [undefined, [8, 4], [2, 4]];
const BORDERS = ["solid", "dashed", "dotted"];

/** The colour and the line of the i-th series, the same in every chart and table of a page. */
export function seriesStyle(i: number): { color: string; dash?: number[]; border: string } {
  const line = Math.floor(i / 10) % DASHES.length;
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[line], border: BORDERS[line] };
}

/** A short stroke in the i-th series' colour and line, for legends and tooltips. */
export function Swatch({ i }: { i: number }) {
  const { color, border } = seriesStyle(i);
  return <span className="chart-swatch" data-color={color} data-line={border} style={{ borderTopColor: color, borderTopStyle: border as React.CSSProperties["borderTopStyle"] }} />;
}

/** A tick's label, short: "1e-4", "2.5e-4", "0.25", "1.5e6" (the tooltip gives the value in full). */
export function formatTick(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return ""; // uPlot leaves some log ticks unlabelled
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) {
    const [mantissa, exponent] = v.toExponential(3).split("e");
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  return String(Number(v.toPrecision(6)));
}

const AXIS_FONT = "11px system-ui";
let measurer: CanvasRenderingContext2D | null = null;

/** How wide a y axis must be for its widest label, its ticks and the gap between them. */
function axisWidth(labels: string[] | undefined): number {
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!labels?.length || !measurer) return 40;
  measurer.font = AXIS_FONT;
  const widest = Math.max(...labels.map((t) => measurer!.measureText(t).width));
  // uPlot's tick (10 px) and gap (5 px), and a few pixels to spare at the canvas's edge.
  return Math.ceil(widest) + 10 + 5 + 4;
}

/** Whole increments, 1 2 5 a decade: a step or a version between two integers does not exist. */
const WHOLE_INCRS = Array.from({ length: 16 }, (_, p) => [1, 2, 5].map((m) => m * 10 ** p)).flat();
/** Round durations in seconds: 1 s .. 30 s, 1 .. 30 min, 1 .. 12 h, then days. */
const DURATION_INCRS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
  ...Array.from({ length: 12 }, (_, p) => [1, 2, 5].map((m) => m * 86400 * 10 ** p)).flat(),
];

/** The theme's colours that a chart draws with (its canvas cannot use CSS variables). */
interface Theme {
  axis: string;
  grid: string;
  highlight: string;
}

type Draw = (width: number, theme: Theme) => void;
let queued: { el: HTMLElement; draw: Draw }[] = [];

/**
 * Draw a chart into `el` once every chart of the same render has been queued: one microtask
 * reads all their widths and the theme first (one layout of the page), then draws them all.
 * Read chart by chart, each width came after the chart before had added its canvas, and the
 * page was laid out again for every chart. Answers a function that drops the chart if it is
 * not drawn yet.
 */
function drawSoon(el: HTMLElement, draw: Draw): () => void {
  const job = { el, draw };
  if (queued.push(job) === 1) queueMicrotask(drawQueued);
  return () => {
    queued = queued.filter((j) => j !== job);
  };
}

function drawQueued() {
  const jobs = queued;
  queued = [];
  if (jobs.length === 0) return;
  const root = getComputedStyle(document.documentElement);
  const cssVar = (name: string, fallback: string) => root.getPropertyValue(name).trim() || fallback;
  const theme = { axis: cssVar("--muted", "#5d6b7e"), grid: cssVar("--border", "#d5dbe3"), highlight: cssVar("--highlight", "#7c3aed") };
  const widths = jobs.map((j) => chartWidth(j.el));
  jobs.forEach((j, i) => j.draw(widths[i], theme));
}

const chartWidth = (el: HTMLElement) => Math.max(200, el.clientWidth);

function formatX(kind: XKind, x: number, labels?: string[]): string {
  if (kind === "time") return new Date(x).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
  if (kind === "elapsed") return `${formatDuration(x) || "0 s"} after the start`;
  if (kind === "version") return labels?.[Math.round(x)] ?? String(x);
  return `step ${x}`;
}

/** Align series of different x onto one x list (uPlot draws aligned columns). */
function align(series: ChartSeries[]): [number[], ...(number | null)[][]] {
  const xs = Array.from(new Set(series.flatMap((s) => s.x))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => {
      const y = s.y[i];
      col[index.get(x)!] = y === null || !Number.isFinite(y) ? null : y;
    });
    return col;
  });
  return [xs, ...columns];
}

function tooltipPlugin(kind: XKind, labels: string[] | undefined, names: string[]): uPlot.Plugin {
  let tip: HTMLDivElement;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement("div");
        tip.className = "chart-tip";
        tip.setAttribute("role", "tooltip");
        tip.style.display = "none";
        u.over.appendChild(tip);
        u.over.addEventListener("mouseleave", () => (tip.style.display = "none"));
      },
      setCursor: (u) => {
        const i = u.cursor.idx;
        if (i === null || i === undefined || u.cursor.left === undefined || u.cursor.left < 0) {
          tip.style.display = "none";
          return;
        }
        const x = u.data[0][i];
        const rows = names
          .map((name, s) => [name, u.data[s + 1]?.[i], s] as const)
          .filter(([, v]) => v !== null && v !== undefined);
        if (rows.length === 0) {
          tip.style.display = "none";
          return;
        }
        tip.replaceChildren();
        const head = document.createElement("div");
        head.className = "chart-tip-x";
        head.textContent = formatX(kind, x, labels);
        tip.appendChild(head);
        for (const [name, v, s] of rows.slice(0, 12)) {
          const row = document.createElement("div");
          const dot = document.createElement("span");
          const style = seriesStyle(s);
          dot.className = "chart-swatch";
          dot.style.borderTopColor = style.color;
          dot.style.borderTopStyle = style.border;
          row.append(dot, `${name}: ${formatNumber(v as number)}`);
          tip.appendChild(row);
        }
        tip.style.display = "block";
        const left = u.cursor.left!;
        const top = u.cursor.top ?? 0;
        const flip = left > u.over.clientWidth / 2;
        tip.style.left = flip ? "" : `${left + 12}px`;
        tip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : "";
        tip.style.top = `${Math.max(0, top - 10)}px`;
      },
    },
  };
}

export function MetricChart({ title, series, xKind = "step", xLabels, current, height = 240, log = false, testId = "metric-chart" }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [logScale, setLogScale] = useState(log);
  const [zoomed, setZoomed] = useState(false);
  const data = useMemo(() => {
    const withCurrent = current ? [...series, { label: current.label ?? "current", x: [current.x], y: [current.y] }] : series;
    return align(withCurrent);
  }, [series, current]);
  const positive = useMemo(() => series.every((s) => s.y.every((v) => v === null || !Number.isFinite(v) || v > 0)), [series]);
  const useLog = logScale && positive;
  const points = series.reduce((n, s) => n + s.x.length, 0);

  useEffect(() => {
    const el = box.current;
    if (!el || points === 0) return;
    const names = series.map((s) => s.label);
    const many = data[0].length;
    const options = (width: number, { axis, grid, highlight }: Theme): uPlot.Options => ({
      // times are milliseconds since the epoch, as the API answers them
      ms: 1,
      width,
      height,
      legend: { show: false },
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      scales: {
        x: { time: xKind === "time" },
        y: useLog ? { distr: 3 } : { auto: true },
      },
      axes: [
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          label: xKind === "time" ? undefined : xKind === "elapsed" ? "time since the run's start" : xKind,
          labelSize: 18,
          labelFont: "12px system-ui",
          font: AXIS_FONT,
          // A time axis keeps uPlot's calendar increments; the others tick on values they can take.
          incrs: xKind === "step" || xKind === "version" ? WHOLE_INCRS : xKind === "elapsed" ? DURATION_INCRS : undefined,
          values:
            xKind === "version"
              ? (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (xLabels?.[t] ?? "") : ""))
              : xKind === "elapsed"
                ? (_u, ticks) => ticks.map((t) => formatDuration(t) || "0")
                : undefined,
        },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          font: AXIS_FONT,
          // As wide as its labels need, measured: a fixed width cut "1.000e-4" to ".000e-4".
          size: (_u, values) => axisWidth(values),
          values: (_u, ticks) => ticks.map((t) => formatTick(t)),
        },
      ],
      series: [
        { value: (_u, x) => formatX(xKind, x, xLabels) },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: seriesStyle(i).color,
          dash: seriesStyle(i).dash,
          width: 2,
          spanGaps: true,
          points: { show: many <= 60, size: 5 },
        })),
        ...(current ? [{ label: current.label ?? "current", stroke: highlight, width: 0, points: { show: true, size: 11, width: 3, fill: highlight } }] : []),
      ],
      hooks: { setScale: [(u, key) => key === "x" && setZoomed(u.scales.x.min! > data[0][0] || u.scales.x.max! < data[0][data[0].length - 1])] },
      plugins: [tooltipPlugin(xKind, xLabels, current ? [...names, current.label ?? "current"] : names)],
    });
    let u: uPlot | null = null;
    const resize = new ResizeObserver(() => {
      // The observer also reports the width the chart was just drawn at: redrawing at the
      // same width would draw every chart twice.
      const width = chartWidth(el);
      if (u && width !== u.width) u.setSize({ width, height });
    });
    const cancel = drawSoon(el, (width, theme) => {
      u = new uPlot(options(width, theme), data as uPlot.AlignedData, el);
      plot.current = u;
      resize.observe(el);
    });
    return () => {
      cancel();
      resize.disconnect();
      u?.destroy();
      plot.current = null;
    };
  }, [data, height, useLog, xKind, xLabels, series, current, points]);

  if (points === 0) return null;
  const resetZoom = () => plot.current?.setScale("x", { min: data[0][0], max: data[0][data[0].length - 1] });
  return (
    <figure
      className="chart metric-chart"
      data-testid={testId}
      data-series={series.length}
      data-points={points}
      data-last-x={data[0][data[0].length - 1]}
      data-current={current ? `${current.x},${current.y}` : undefined}
      aria-label={title}
    >
      <div className="chart-bar">
        {series.length > 1 && (
          <span className="chart-legend">
            {series.map((s, i) => (
              <span key={`${s.label}-${i}`} className="chart-key">
                <Swatch i={i} />
                {s.label}
              </span>
            ))}
          </span>
        )}
        <span className="chart-tools">
          {zoomed && (
            <button type="button" onClick={resetZoom}>
              Reset zoom
            </button>
          )}
          <label title={positive ? "logarithmic y axis" : "a log scale needs values above 0"}>
            <input type="checkbox" checked={useLog} disabled={!positive} onChange={(e) => setLogScale(e.target.checked)} /> log
          </label>
        </span>
      </div>
      <div ref={box} className="chart-plot" />
      <figcaption>{title}</figcaption>
    </figure>
  );
}
