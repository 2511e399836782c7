// A run's own page: what it was (status, duration, trigger, parameters, tags), what it measured
// (its metrics, charted), what it read and wrote; its DAG is the second tab.
import { useEffect, useMemo } from "react";
import { getArtifact, getExperiment, listEntities, type Run } from "../api/client";
import { formatDuration, type RunMetrics } from "../api/tracking";
import { ArtifactLink } from "../components/Details";
import { ArtifactVersion, Fact, MetricTable, Pairs, SeriesChart, flatten, secondsBetween } from "../components/RunParts";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { Breadcrumbs, CopyButtons, useTitle } from "../context";
import { formatTime, useAsync, type Async } from "../hooks";
import { RUN_CHARTS, first } from "../first";
import { lazyView } from "../lazyView";
import { type LGraph, type LNode } from "../lineage";
import { Link, navigate, type Location } from "../router";
import "./runs.css";

// The DAG tab brings the graph library: fetched when the tab is first opened, and drawn as soon
// as it is in (no Suspense boundary, whose throttle would hold it back for 300 ms).
const RunDag = lazyView(() => import("./RunDag").then((m) => m.RunDag), <Loading what="Loading the DAG" />);

// Tags people look for first on a run; the rest follow in their own order.
const FIRST_TAGS = ["command", "git.commit", "git-commit", "gitCommit", "git_commit", "commit", "git.branch", "host", "hostname", "user"];

export function duration(run: Run): number | null {
  if (!run.endTime) return null;
  return Math.max(0, (new Date(run.endTime).getTime() - new Date(run.createTime).getTime()) / 1000);
}

/** The artifacts a run read from outside (inputs) and the ones its steps wrote (outputs). */
export function inputsAndOutputs(g: LGraph): { inputs: LNode[]; outputs: LNode[] } {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const written = new Set(g.edges.filter((e) => byId.get(e.target)?.type === "artifact" && byId.get(e.source)?.type === "execution").map((e) => e.target));
  const read = new Set(g.edges.filter((e) => byId.get(e.source)?.type === "artifact" && byId.get(e.target)?.type === "execution").map((e) => e.source));
  const pick = (ids: Iterable<string>) => [...ids].map((id) => byId.get(id)!).sort((a, b) => a.name.localeCompare(b.name));
  return { inputs: pick([...read].filter((id) => !written.has(id))), outputs: pick(written) };
}

export function RunPage({ id, tab, location }: { id: string; tab: "overview" | "dag"; location: Location }) {
  // The DAG was this page's only content; its old addresses (with a selected node) open the tab.
  const oldDagAddress = tab === "overview" && location.query.has("select");
  useEffect(() => {
    if (oldDagAddress) navigate(`/runs/${id}/dag${window.location.search}`, true);
  }, [oldDagAddress, id]);
  const run = useAsync(() => first.run(id), [id]);
  // The DAG's code (the graph library) is fetched with the run, not after it.
  useEffect(() => {
    if (tab === "dag") void RunDag.preload();
  }, [tab]);
  // The overview's steps and metrics need only the run's id: asked with the run, not after it.
  const overview = tab === "overview";
  const dag = useAsync(async () => (overview ? first.runDag(id) : undefined), [id, overview]);
  const metrics = useAsync(async () => (overview ? first.runMetrics(id) : undefined), [id, overview]);
  const experiment = useAsync(async () => (run.data ? getExperiment(run.data.experiment) : undefined), [run.data?.experiment]);
  const r = run.data;
  useTitle(r?.name, tab === "dag" ? "DAG" : null, "run");
  return (
    <section className="view run-page">
      <header className="view-head">
        <Breadcrumbs
          items={[
            { label: "experiments", to: "/experiments" },
            { label: experiment.data?.name ?? "experiment", to: r ? `/experiments/${r.experiment}/runs` : undefined },
            { label: r?.name ?? "run" },
          ]}
        />
        <h1>
          {r?.name ?? "Run"} <StatusBadge status={r?.status} /> {r && <CopyButtons id={r.id} />}
        </h1>
        <nav className="tabs" aria-label="run">
          <Link to={`/runs/${id}`} className={tab === "overview" ? "tab active" : "tab"} aria-current={tab === "overview" ? "page" : undefined}>
            Overview
          </Link>
          <Link to={`/runs/${id}/dag`} className={tab === "dag" ? "tab active" : "tab"} aria-current={tab === "dag" ? "page" : undefined}>
            DAG
          </Link>
        </nav>
      </header>
      {run.error && <Problem error={run.error} />}
      {!r && run.loading && <Loading what="Loading the run" />}
      {r && tab === "overview" && <Overview run={r} dag={dag} metrics={metrics} />}
      {r && tab === "dag" && <RunDag id={id} location={location} />}
    </section>
  );
}

/** The run of the same experiment (and pipeline, when it has one) that started last before `run`. */
async function runBefore(run: Run): Promise<Run | undefined> {
  const filter = [`experiment:eq:${run.experiment}`, `createTime:lt:${run.createTime}`];
  if (run.pipeline) filter.push(`pipeline:eq:${run.pipeline}`);
  const page = await listEntities("runs", { filter, sort: "-createTime", limit: 1 });
  return page.items[0] as Run | undefined;
}

function Overview({ run, dag, metrics }: { run: Run; dag: Async<LGraph | undefined>; metrics: Async<RunMetrics | undefined> }) {
  const trigger = useAsync(async () => (run.event ? getArtifact(run.event) : undefined), [run.event]);
  const before = useAsync(() => runBefore(run), [run.id, run.createTime]);
  const io = useMemo(() => (dag.data ? inputsAndOutputs(dag.data) : null), [dag.data]);
  const params = flatten(run.configuration ?? {});
  const tags = Object.entries(run.annotations ?? {}).sort(([a], [b]) => {
    const ia = FIRST_TAGS.indexOf(a);
    const ib = FIRST_TAGS.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  const seconds = duration(run);
  const steps = useMemo(() => inRunOrder(dag.data?.nodes.filter((n) => n.type === "execution") ?? []), [dag.data]);
  const failed = steps.filter((n) => n.status?.toUpperCase() === "FAILED");

  return (
    <div className="run-overview">
      <div className="run-facts card" data-testid="run-facts">
        <Fact label="status">
          <StatusBadge status={run.status} />
        </Fact>
        <Fact label="duration">{seconds === null ? <span className="muted">running</span> : formatDuration(seconds)}</Fact>
        <Fact label="started">{formatTime(run.createTime)}</Fact>
        <Fact label="ended">{run.endTime ? formatTime(run.endTime) : <span className="muted">—</span>}</Fact>
        <Fact label="trigger">
          {run.event ? (
            <ArtifactLink id={run.event}>{trigger.data ? String(trigger.data.attributes.cause ?? trigger.data.name) : "event"}</ArtifactLink>
          ) : (
            <span className="muted">none</span>
          )}
        </Fact>
        <Fact label="steps">
          {dag.data ? (
            <Link to={`/runs/${run.id}/dag`}>
              {steps.length} step{steps.length === 1 ? "" : "s"}
              {failed.length ? `, ${failed.length} failed` : ""}
            </Link>
          ) : (
            "…"
          )}
        </Fact>
        <Fact label="run before">
          {before.data ? (
            <>
              <Link to={`/runs/${before.data.id}`}>{before.data.name}</Link>{" "}
              <Link to={`/compare/runs?ids=${before.data.id},${run.id}`} className="compare-before" title={`${before.data.name} and ${run.name} side by side`}>
                compare
              </Link>
            </>
          ) : before.loading ? (
            "…"
          ) : (
            <span className="muted">none: the first run</span>
          )}
        </Fact>
        {failed.length > 0 && (
          <Fact label="first failed step">
            <Link to={`/executions/${failed[0].id}`}>{failed[0].name}</Link>
          </Fact>
        )}
      </div>
      <div className="columns">
        <div className="card" data-testid="run-parameters">
          <h2>Parameters</h2>
          {params.length === 0 ? <Empty>No parameters.</Empty> : <Pairs entries={params} />}
        </div>
        <div className="card" data-testid="run-tags">
          <h2>Tags</h2>
          {tags.length === 0 && !run.uri ? <Empty>No tags.</Empty> : <Pairs entries={[...tags, ...(run.uri ? [["storage uri", run.uri] as [string, unknown]] : [])]} />}
        </div>
      </div>
      <div className="card" data-testid="run-metrics">
        <h2>Metrics</h2>
        {metrics.error && <Problem error={metrics.error} />}
        {metrics.loading && !metrics.data && <Loading what="Loading the metrics" />}
        {metrics.data && metrics.data.metrics.length === 0 && <Empty>This run logged no metric series.</Empty>}
        {metrics.data && metrics.data.metrics.length > 0 && (
          <>
            <MetricTable run={run.id} metrics={metrics.data.metrics} />
            <div className="charts">
              {metrics.data.metrics.slice(0, RUN_CHARTS).map((m) => (
                <SeriesChart key={m.key} run={run.id} metric={m} given={metrics.data!.charts?.find((c) => c.key === m.key)} />
              ))}
            </div>
            {metrics.data.metrics.length > RUN_CHARTS && (
              <p className="muted">The first {RUN_CHARTS} of {metrics.data.metrics.length} metrics are charted.</p>
            )}
          </>
        )}
      </div>
      <div className="card" data-testid="run-steps">
        <h2>Steps</h2>
        {dag.error && <Problem error={dag.error} />}
        {dag.loading && !dag.data && <Loading what="Loading the steps" />}
        {dag.data && <StepTable run={run.id} steps={steps} />}
      </div>
      <div className="columns">
        <div className="card" data-testid="run-inputs">
          <h2>Inputs</h2>
          {dag.error && <Problem error={dag.error} />}
          {io && <ArtifactList nodes={io.inputs} empty="It read no artifact from outside the run." />}
        </div>
        <div className="card" data-testid="run-outputs">
          <h2>Outputs</h2>
          {io && <ArtifactList nodes={io.outputs} empty="It wrote no artifact." />}
        </div>
      </div>
    </div>
  );
}

/** Steps in the order they ran: by start, then by creation. */
function inRunOrder(steps: LNode[]): LNode[] {
  const at = (n: LNode) => n.startTime ?? n.createTime ?? "";
  return [...steps].sort((a, b) => at(a).localeCompare(at(b)) || (a.createTime ?? "").localeCompare(b.createTime ?? ""));
}

const STEPS_SHOWN = 50;

function StepTable({ run, steps }: { run: string; steps: LNode[] }) {
  if (steps.length === 0) return <Empty>This run has no steps yet.</Empty>;
  return (
    <>
      <table className="data step-table" aria-label="steps">
        <thead>
          <tr>
            <th scope="col">step</th>
            <th scope="col">status</th>
            <th scope="col">started</th>
            <th scope="col">took</th>
          </tr>
        </thead>
        <tbody>
          {steps.slice(0, STEPS_SHOWN).map((n) => (
            <tr key={n.id} data-step={n.name}>
              <th scope="row">
                <Link to={`/executions/${n.id}`}>{n.name}</Link> {n.kind && n.kind !== n.name && <span className="badge">{n.kind}</span>}
              </th>
              <td>
                <StatusBadge status={n.status} />
              </td>
              <td>{formatTime(n.startTime ?? n.createTime)}</td>
              <td>{n.endTime ? formatDuration(secondsBetween(n.startTime ?? n.createTime, n.endTime)) : <span className="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {steps.length > STEPS_SHOWN && (
        <p className="muted">
          The first {STEPS_SHOWN} of {steps.length.toLocaleString()} steps; <Link to={`/executions?filter=${encodeURIComponent(`run:eq:${run}`)}&sort=startTime`}>all of them</Link> in the executions table.
        </p>
      )}
    </>
  );
}

function ArtifactList({ nodes, empty }: { nodes: LNode[]; empty: string }) {
  if (nodes.length === 0) return <Empty>{empty}</Empty>;
  return (
    <ul className="plain artifact-list">
      {nodes.map((n) => (
        <li key={n.id} data-artifact={n.name}>
          <ArtifactLink id={n.id}>{n.name}</ArtifactLink> <ArtifactVersion version={n.version} fingerprint={n.fingerprint} />{" "}
          <span className="badge">{n.kind ?? "artifact"}</span>
        </li>
      ))}
    </ul>
  );
}

