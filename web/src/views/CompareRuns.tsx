// Many runs side by side: parameters with the differences marked, metrics overlaid on one chart
// per key (x by step, by time since each run's start, or by wall-clock time), a parallel coordinates chart over the parameters and a metric,
// and the artifacts whose content differs.
import { useMemo, useState } from "react";
import { compareRuns, formatDuration, formatValue, readSeriesPoints, toNumber, type RunComparison } from "../api/tracking";
import { MetricChart, Swatch, formatNumber, seriesStyle, type ChartSeries, type XKind } from "../components/MetricChart";
import { MetricValue } from "../components/MetricValue";
import { ParallelCoordinates, type Axis } from "../components/ParallelCoordinates";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { useTitle } from "../context";
import { compareAddress, first } from "../first";
import { formatTime, useAsync, type Async } from "../hooks";
import { rowsByNumbers } from "../order";
import { Link, navigate, withQuery, type Location } from "../router";
import "./runs.css";

type Values = RunComparison["differingParameters"][number];
const CHARTED = 2;
// The x axes offered, by their value in the address (x=time, the wall clock, is the older one).
const X_AXES = [
  ["step", "step"],
  ["relative", "time since start"],
  ["time", "wall clock"],
] as const;
type XAxis = (typeof X_AXES)[number][0];

export function CompareRuns({ location }: { location: Location }) {
  const x: XAxis = X_AXES.find(([v]) => v === location.query.get("x"))?.[0] ?? "step";
  const { ids, asked, wanted, points } = compareAddress(location.query, x === "step");
  // Without runs there is nothing to ask the server (it would refuse an empty list).
  const base = useAsync(async () => (ids.length ? first.compare(ids, wanted, points) : undefined), [ids.join(","), wanted.join(",")]);
  useTitle(ids.length ? `${ids.length} runs` : null, "compare");
  // Parameters, tags and metrics are read in the order of the numbers in their keys, as the grid lists them.
  const ordered = useMemo(
    () =>
      base.data && {
        ...base.data,
        differingParameters: rowsByNumbers(base.data.differingParameters),
        equalParameters: rowsByNumbers(base.data.equalParameters),
        differingTags: rowsByNumbers(base.data.differingTags),
        equalTags: rowsByNumbers(base.data.equalTags),
        metrics: rowsByNumbers(base.data.metrics),
      },
    [base.data],
  );
  const keys = ordered?.metrics.map((m) => m.key) ?? [];
  const chosen = asked !== null ? asked.split(",").filter(Boolean) : keys.slice(0, CHARTED);
  // The series the address names come in the comparison's own answer: taken from it as it
  // is drawn, not a render later (which drew the whole page twice, its charts first empty).
  const inBase = x === "step" && wanted.length > 0;
  const fetched = useAsync(
    async () => (base.data && chosen.length && x === "step" && !inBase ? compareRuns(ids, chosen, 300) : undefined),
    [base.data, chosen.join(","), x, inBase],
  );
  const series: Async<RunComparison | undefined> = inBase ? { data: base.data, loading: base.loading, error: base.error } : fetched;
  const timed = useAsync(
    async () =>
      base.data && chosen.length && x !== "step"
        ? Promise.all(chosen.map((k) => Promise.all(base.data!.runs.map((r) => readSeriesPoints(r.id, k, 2000).catch(() => undefined)))))
        : undefined,
    [base.data, chosen.join(","), x],
  );

  if (ids.length === 0)
    return (
      <section className="view compare-runs">
        <h1>Compare runs</h1>
        <Empty>
          Pick runs in the runs grid of an experiment (see <Link to="/experiments">experiments</Link>): tick them and press <b>Compare selected</b>. Or give{" "}
          <code>?ids=ID,ID,…</code> (ids or run names).
        </Empty>
      </section>
    );
  if (base.error) return <Problem error={base.error} />;
  if (!base.data) return <Loading what={`Comparing ${ids.length} runs`} />;
  const c = ordered ?? base.data;
  const setMetrics = (m: string[]) => navigate(withQuery({ metrics: m.join(",") }), true);

  const charts: { key: string; series: ChartSeries[] }[] = chosen.map((key, k) => ({
    key,
    series:
      x === "step"
        ? (series.data?.series.find((s) => s.key === key)?.runs ?? []).map((s, i) => ({ label: c.runs[i]?.name ?? "", x: s.steps, y: s.values.map((v) => toNumber(v)) }))
        : (timed.data?.[k] ?? []).map((p, i) => {
            // Runs started at other times are laid over each other from their own start.
            const start = x === "relative" ? new Date(c.runs[i]?.createTime ?? 0).getTime() : 0;
            const xs = (p?.timestamps ?? []).map((t) => (x === "relative" ? (t - start) / 1000 : t));
            return { label: c.runs[i]?.name ?? "", x: xs, y: (p?.values ?? []).map((v) => toNumber(v)) };
          }),
  }));

  return (
    <section className="view compare-runs">
      <header className="view-head">
        <h1>Compare {c.runs.length} runs</h1>
        <div className="run-chips">
          {c.runs.map((r, i) => (
            <span key={r.id} className="run-chip">
              <Swatch i={i} />
              <Link to={`/runs/${r.id}`}>{r.name}</Link> <StatusBadge status={r.status} />
            </span>
          ))}
        </div>
      </header>
      <div className="card">
        <h2>Runs</h2>
        <SideBySide runs={c.runs} rows={[
          { key: "started", values: c.runs.map((r) => formatTime(r.createTime)), equal: false },
          { key: "duration", values: c.runs.map((r) => formatDuration(r.duration) || "running"), equal: false },
        ]} plain />
      </div>
      <div className="card" data-testid="compare-parameters">
        <h2>
          Parameters <span className="muted small">{c.differingParameters.length} differ, {c.equalParameters.length} equal</span>
        </h2>
        <SideBySide runs={c.runs} rows={c.differingParameters} equalRows={c.equalParameters} />
        {(c.differingTags.length > 0 || c.equalTags.length > 0) && (
          <>
            <h3>
              Tags <span className="muted small">{c.differingTags.length} differ, {c.equalTags.length} equal</span>
            </h3>
            <SideBySide runs={c.runs} rows={c.differingTags} equalRows={c.equalTags} />
          </>
        )}
      </div>
      <div className="card" data-testid="compare-metrics">
        <h2>Metrics</h2>
        {c.metrics.length === 0 ? (
          <Empty>None of these runs logged a metric.</Empty>
        ) : (
          <>
            <MetricsTable comparison={c} chosen={chosen} onChoose={setMetrics} />
            <div className="toolbar">
              <span className="muted">x axis</span>
              <span className="segmented" role="group" aria-label="x axis">
                {X_AXES.map(([v, label]) => (
                  <button key={v} type="button" aria-pressed={x === v} onClick={() => navigate(withQuery({ x: v === "step" ? null : v }), true)}>
                    {label}
                  </button>
                ))}
              </span>
              <span className="muted">drag across a chart to zoom, double-click to reset</span>
            </div>
            {(series.error ?? timed.error) && <Problem error={(series.error ?? timed.error)!} />}
            {(series.loading || timed.loading) && !series.data && !timed.data && <Loading what="Loading the series" />}
            <div className="charts">
              {charts.map((ch) => (
                <OverlaidChart key={`${ch.key}-${x}`} title={`${ch.key} by ${X_AXES.find(([v]) => v === x)![1]}`} series={ch.series} x={x === "relative" ? "elapsed" : x} />
              ))}
            </div>
          </>
        )}
      </div>
      <Parallel comparison={c} metric={chosen[0] ?? keys[0]} />
      <div className="card" data-testid="compare-artifacts">
        <h2>
          Artifacts{" "}
          <span className="muted small">
            {c.artifacts.filter((a) => a.differs).length} differ, {c.artifacts.filter((a) => !a.differs).length} the same
          </span>
        </h2>
        <ArtifactsAcross comparison={c} />
      </div>
    </section>
  );
}

function OverlaidChart({ title, series, x }: { title: string; series: ChartSeries[]; x: XKind }) {
  const kept = useMemo(() => series, [JSON.stringify(series.map((s) => [s.label, s.x.length, s.x[s.x.length - 1], s.y[s.y.length - 1]]))]); // eslint-disable-line react-hooks/exhaustive-deps
  if (kept.every((s) => s.x.length === 0)) return <Empty>No points of {title.split(" by ")[0]} in these runs.</Empty>;
  return <MetricChart title={title} series={kept} xKind={x} height={280} testId="compare-chart" />;
}

/** One column head per run, in its colour: the same in every table of the page. The full
 * name is its tooltip, as a long name is cut to the column's width. */
function RunHeads({ runs }: { runs: RunComparison["runs"] }) {
  return (
    <>
      {runs.map((r, i) => (
        <th key={r.id} scope="col" title={r.name} data-run={r.id}>
          <Swatch i={i} />
          {r.name}
        </th>
      ))}
    </>
  );
}

function SideBySide({ runs, rows, equalRows = [], plain = false }: { runs: RunComparison["runs"]; rows: Values[]; equalRows?: Values[]; plain?: boolean }) {
  const [showEqual, setShowEqual] = useState(false);
  const shown = showEqual ? [...rows, ...equalRows] : rows;
  return (
    <>
      <div className="side-wrap">
        <table className="data side-by-side">
          <thead>
            <tr>
              <th scope="col">{plain ? "" : "key"}</th>
              <RunHeads runs={runs} />
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <tr key={row.key} data-key={row.key} className={plain ? undefined : row.equal ? "same" : "differs"}>
                <th scope="row">{row.key.replace(/`/g, "")}</th>
                {row.values.map((v, i) => (
                  <td key={i} className={!plain && i > 0 && formatValue(v) !== formatValue(row.values[i - 1]) ? "changed" : undefined} title={formatValue(v)}>
                    {v === null || v === undefined ? <span className="muted">—</span> : formatValue(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!plain && rows.length === 0 && <p className="muted">No differences.</p>}
      {equalRows.length > 0 && (
        <button type="button" className="link-button" onClick={() => setShowEqual((s) => !s)}>
          {showEqual ? "Hide" : "Show"} the {equalRows.length} equal
        </button>
      )}
    </>
  );
}

function MetricsTable({ comparison: c, chosen, onChoose }: { comparison: RunComparison; chosen: string[]; onChoose: (m: string[]) => void }) {
  return (
    <div className="side-wrap">
      <table className="data side-by-side metrics-across">
        <thead>
          <tr>
            <th scope="col">chart</th>
            <th scope="col">metric (latest)</th>
            <RunHeads runs={c.runs} />
          </tr>
        </thead>
        <tbody>
          {c.metrics.map((m) => {
            const latest = m.latest.map((v) => toNumber(v));
            const finite = latest.filter((v): v is number => v !== null && Number.isFinite(v));
            const [lo, hi] = finite.length > 1 ? [Math.min(...finite), Math.max(...finite)] : [null, null];
            return (
              <tr key={m.key} data-metric={m.key}>
                <td>
                  <input type="checkbox" aria-label={`chart ${m.key}`} checked={chosen.includes(m.key)} onChange={() => onChoose(chosen.includes(m.key) ? chosen.filter((k) => k !== m.key) : [...chosen, m.key])} />
                </td>
                <th scope="row">{m.key}</th>
                {latest.map((v, i) => (
                  <td key={i} className="num" title={`least ${formatNumber(toNumber(m.min[i]))} · greatest ${formatNumber(toNumber(m.max[i]))}`}>
                    <MetricValue value={v} />
                    {lo !== hi && v === hi && <span className="mark" title="the highest of these runs">▲</span>}
                    {lo !== hi && v === lo && <span className="mark" title="the lowest of these runs">▼</span>}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Parallel({ comparison: c, metric }: { comparison: RunComparison; metric?: string }) {
  const [key, setKey] = useState<string | undefined>(undefined);
  const chosen = key ?? metric;
  const axes = useMemo<Axis[]>(() => {
    const out: Axis[] = c.differingParameters.slice(0, 12).map((p) => ({ label: p.key.replace(/^configuration\./, "").replace(/`/g, ""), values: p.values }));
    const m = c.metrics.find((x) => x.key === chosen);
    if (m) out.push({ label: m.key, values: m.latest.map((v) => toNumber(v)), metric: true });
    return out;
  }, [c, chosen]);
  if (c.runs.length < 2 || axes.length < 2) return null;
  return (
    <div className="card" data-testid="parallel-coordinates">
      <h2>
        Parameters against{" "}
        <select aria-label="metric of the last axis" value={chosen} onChange={(e) => setKey(e.target.value)}>
          {c.metrics.map((m) => (
            <option key={m.key}>{m.key}</option>
          ))}
        </select>
      </h2>
      <ParallelCoordinates axes={axes} lines={c.runs.map((r, i) => ({ label: r.name, ...seriesStyle(i) }))} />
    </div>
  );
}

function ArtifactsAcross({ comparison: c }: { comparison: RunComparison }) {
  const [showSame, setShowSame] = useState(false);
  const rows = c.artifacts.filter((a) => a.differs || showSame).sort((a, b) => Number(b.differs) - Number(a.differs));
  const same = c.artifacts.filter((a) => !a.differs).length;
  if (c.artifacts.length === 0) return <Empty>These runs read and wrote no artifacts.</Empty>;
  return (
    <>
      <div className="side-wrap">
        <table className="data side-by-side">
          <thead>
            <tr>
              <th scope="col">artifact</th>
              <RunHeads runs={c.runs} />
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={`${a.role}-${a.kind}-${a.name}`} className={a.differs ? "differs" : "same"} data-artifact={a.name}>
                <th scope="row">
                  {a.name} <span className="badge">{a.kind}</span> <span className="muted small">{a.role === "input" ? "read" : "written"}</span>
                </th>
                {a.fingerprints.map((f, i) => (
                  <td key={i} className={a.differs && i > 0 && f.join() !== a.fingerprints[i - 1].join() ? "changed" : undefined}>
                    {f.length === 0 ? <span className="muted">—</span> : <code title={f.join("\n")}>{f.map((x) => x.slice(0, 8)).join(", ")}</code>}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p className="muted">Every artifact has the same content in these runs.</p>}
      {same > 0 && (
        <button type="button" className="link-button" onClick={() => setShowSame((s) => !s)}>
          {showSame ? "Hide" : "Show"} the {same} with the same content
        </button>
      )}
    </>
  );
}
