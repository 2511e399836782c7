// The parts a run's page and a step's page share: facts at a glance, key/value tables, a table
// of metrics and their charts.
import { useMemo } from "react";
import "../views/runs.css";
import { formatValue, keySegment, toNumber, type MetricSummary, type SeriesBuckets } from "../api/tracking";
import { apiUrl } from "../base";
import { first, SERIES_POINTS } from "../first";
import { useAsync, type Async } from "../hooks";
import { Value } from "./Details";
import { MetricChart, type ChartSeries } from "./MetricChart";
import { MetricValue } from "./MetricValue";
import { Loading, Problem } from "./Status";

/** The address of a series as JSON: a run's own, or one step's (`execution`). */
function seriesUrl(run: string, key: string, execution?: string): string {
  return apiUrl(`/runs/${run}/metrics/${keySegment(key)}${execution ? `?execution=${execution}` : ""}`);
}

/** Leaf paths of a configuration, nested objects joined with dots. */
export function flatten(doc: Record<string, unknown>, prefix = ""): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(doc)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) out.push(...flatten(v as Record<string, unknown>, key));
    else out.push([key, v]);
  }
  return out;
}

/** Seconds from `start` to `end`; null while it has not ended. */
export function secondsBetween(start: string | null | undefined, end: string | null | undefined): number | null {
  if (!start || !end) return null;
  return Math.max(0, (new Date(end).getTime() - new Date(start).getTime()) / 1000);
}

/** An artifact's version and the start of its fingerprint: two reads of "digits v1" with other
 * content are told apart. */
export function ArtifactVersion({ version, fingerprint }: { version?: string | null; fingerprint?: string | null }) {
  return (
    <span className="version" title={fingerprint ? `version ${version ?? "?"}, fingerprint ${fingerprint}` : undefined}>
      {version ? `v${version}` : ""}
      {fingerprint && <code className="fingerprint"> {fingerprint.slice(0, 8)}</code>}
    </span>
  );
}

export function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <div className="fact-label">{label}</div>
      <div className="fact-value" data-fact={label}>
        {children}
      </div>
    </div>
  );
}

export function Pairs({ entries }: { entries: [string, unknown][] }) {
  return (
    <table className="pairs">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k} data-key={k}>
            <th scope="row">{k}</th>
            <td>{v !== null && typeof v === "object" ? <Value value={v} /> : <code className="selectable">{formatValue(v)}</code>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Each metric's latest, least and greatest value; `execution` names a step's own series. */
export function MetricTable({ run, metrics, execution }: { run: string; metrics: MetricSummary[]; execution?: string }) {
  return (
    <table className="data metric-table" aria-label="metrics">
      <thead>
        <tr>
          <th scope="col">metric</th>
          <th scope="col">latest</th>
          <th scope="col">min</th>
          <th scope="col">max</th>
          <th scope="col">points</th>
          <th scope="col">steps</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.key} data-metric={m.key}>
            <th scope="row">
              <a href={seriesUrl(run, m.key, execution)} title="the series as JSON">
                {m.key}
              </a>
            </th>
            <td>
              <MetricValue value={m.latest} />
            </td>
            <td>
              <MetricValue value={m.min} />
            </td>
            <td>
              <MetricValue value={m.max} />
            </td>
            <td>{m.count.toLocaleString()}</td>
            <td>{m.firstStep === m.lastStep ? m.firstStep : `${m.firstStep}–${m.lastStep}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One series charted by step, its latest point marked; `execution` names a step's own series.
 * `given` is the series already downsampled (the run's page has it with the metrics): nothing
 * more is asked for. */
export function SeriesChart({ run, metric, execution, given }: { run: string; metric: MetricSummary; execution?: string; given?: SeriesBuckets }) {
  const fetched = useAsync(async () => (given ? given : first.series(run, metric.key, SERIES_POINTS, execution)), [run, metric.key, metric.count, execution, given]);
  const buckets: Async<SeriesBuckets> = given ? { data: given, loading: false } : fetched;
  const series = useMemo<ChartSeries[]>(() => {
    const b = buckets.data;
    if (!b) return [];
    return [{ label: metric.key, x: b.endSteps, y: b.lasts.map((v) => toNumber(v)) }];
  }, [buckets.data, metric.key]);
  const latest = toNumber(metric.latest);
  const current = useMemo(
    () => (metric.latestStep !== null && metric.latestStep !== undefined && latest !== null && Number.isFinite(latest) ? { x: metric.latestStep, y: latest, label: "latest" } : undefined),
    [metric.latestStep, latest],
  );
  if (buckets.error) return <Problem error={buckets.error} />;
  if (!buckets.data) return <Loading what={`Loading ${metric.key}`} />;
  const note = buckets.data.count > buckets.data.startSteps.length ? ` · ${buckets.data.count.toLocaleString()} points, drawn from ${buckets.data.startSteps.length}` : "";
  return <MetricChart title={`${metric.key} by step${note}`} series={series} current={current} />;
}
