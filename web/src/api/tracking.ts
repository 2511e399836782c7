// The everyday-tracking endpoints: a run's metrics and series, the runs grid, comparing runs.
import { api, unwrap, type Run } from "./client";
import type { components } from "./schema";

export type RunMetrics = components["schemas"]["RunMetrics"];
export type MetricSummary = components["schemas"]["MetricSummary"];
export type SeriesBuckets = components["schemas"]["SeriesBuckets"];
export type SeriesPoints = components["schemas"]["SeriesPoints"];
export type RunGrid = components["schemas"]["RunGrid"];
export type RunInGrid = components["schemas"]["RunInGrid"];
export type RunComparison = components["schemas"]["RunComparison"];
export type { Run };

/** A value as the API shows it: a number, or NaN / Infinity / -Infinity as text. */
export function toNumber(v: number | string | null | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  return v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);
}

/** A metric key as one segment of an address. The keys "." and ".." are dot segments that the
 * browser resolves (and "%2E" too), so their dots go encoded twice, as the server reads them. */
export function keySegment(key: string): string {
  return key === "." || key === ".." ? key.replace(/\./g, "%252E") : encodeURIComponent(key);
}

/** The path of a series read, its key as one segment. */
const seriesPath = (pathname: string, params: Record<string, unknown>) =>
  pathname.replace("{run_id}", encodeURIComponent(String(params.run_id))).replace("{key}", keySegment(String(params.key)));

/** A run's metrics; with `charts`, the series of the first `charts` of them downsampled to
 * `points` buckets each come along (`charts` in the answer), in the same request. */
export async function getRunMetrics(run: string, charts?: number, points?: number): Promise<RunMetrics> {
  return unwrap(await api.GET("/api/v1/runs/{run_id}/metrics", { params: { path: { run_id: run }, query: { charts, points } } }));
}

/** One series downsampled to at most `points` buckets (min, max and last of each): every series
 * of the key in the run merged, or one step's own (`execution`). */
export async function readSeriesBuckets(run: string, key: string, points = 500, execution?: string): Promise<SeriesBuckets> {
  const answer = unwrap(await api.GET("/api/v1/runs/{run_id}/metrics/{key}", { params: { path: { run_id: run, key }, query: { points, execution } }, pathSerializer: seriesPath }));
  return answer as SeriesBuckets;
}

/** One series' points with their timestamps, at most `limit` of them. */
export async function readSeriesPoints(run: string, key: string, limit = 5000): Promise<SeriesPoints> {
  const answer = unwrap(await api.GET("/api/v1/runs/{run_id}/metrics/{key}", { params: { path: { run_id: run, key }, query: { limit } }, pathSerializer: seriesPath }));
  return answer as SeriesPoints;
}

export interface GridParams {
  experiment?: string;
  columns?: string;
  q?: string;
  sort?: string;
  cursor?: string;
  limit?: number;
  count?: boolean;
}

export async function listRunsGrid(params: GridParams): Promise<RunGrid> {
  return unwrap(await api.GET("/api/v1/runs", { params: { query: { ...params, filter: [] } } }));
}

export async function compareRuns(ids: string[], metrics: string[], points = 300): Promise<RunComparison> {
  // The comparison draws each series as a line: the bands' least and greatest values, half
  // of the answer, are not asked for.
  return unwrap(
    await api.GET("/api/v1/compare/runs", { params: { query: { ids: ids.join(","), metrics: metrics.join(",") || undefined, points, bands: false } } }),
  );
}

/** Seconds as "1 h 02 min", "3 min 05 s", "4.2 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A size in bytes, with binary units: 812 B, 4.5 KiB, 268 KiB, 1.2 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A metric value, short: 0.9436, 1.2e-5, NaN, ∞. */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(5)));
}

export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export type RunKeys = components["schemas"]["RunKeys"];

/** The parameter, tag and metric keys of an experiment's runs, as columns. */
export async function listRunKeys(experiment: string): Promise<RunKeys> {
  return unwrap(await api.GET("/api/v1/runs/keys", { params: { query: { experiment, filter: [] } } }));
}
