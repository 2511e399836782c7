// A step's own page (an execution of a run): what ran (the executable, its configuration), how
// it ended and how long it took, what it measured, what it read and wrote, and whether its work
// was done before (the cache).
import { getExecutable, getExecution, getExperiment, getRun, type Artifact, type Execution } from "../api/client";
import { sameWork } from "../api/registry";
import { formatDuration, getRunMetrics, type RunMetrics } from "../api/tracking";
import { ArtifactLink } from "../components/Details";
import { ArtifactVersion, Fact, MetricTable, Pairs, SeriesChart, flatten, secondsBetween } from "../components/RunParts";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { Breadcrumbs, CopyButton, CopyButtons, useTitle } from "../context";
import { RUN_CHARTS, first } from "../first";
import { formatTime, useAsync, type Async } from "../hooks";
import { isMetricNumber, MetricValue } from "../components/MetricValue";
import { Link } from "../router";
import "./runs.css";

export function StepPage({ id }: { id: string }) {
  // Everything but the run's context needs only the step's id: asked with the step, not after it.
  const step = useAsync(() => first.execution(id), [id]);
  const inputs = useAsync(() => first.artifactsOfStep(id, "consumedBy"), [id]);
  const outputs = useAsync(() => first.artifactsOfStep(id, "producedBy"), [id]);
  const e = step.data;
  const run = useAsync(async () => (e ? first.run(e.run) : undefined), [e?.run]);
  const experiment = useAsync(async () => (run.data ? getExperiment(run.data.experiment) : undefined), [run.data?.experiment]);
  const executable = useAsync(async () => (e ? getExecutable(e.executable) : undefined), [e?.executable]);
  // The run's metrics name the step's own series; not `first.runMetrics`, which would also
  // start the run's own charts.
  const metrics = useAsync(async () => (e ? getRunMetrics(e.run) : undefined), [e?.run]);
  const cache = useAsync(async () => (e ? sameWork(e) : undefined), [e?.id, e?.fingerprint]);
  useTitle(e?.name, run.data?.name, "step");
  const seconds = e ? secondsBetween(e.startTime ?? e.createTime, e.endTime) : null;
  const exe = executable.data;

  return (
    <section className="view step-page">
      <header className="view-head">
        <Breadcrumbs
          items={[
            { label: "experiments", to: "/experiments" },
            { label: experiment.data?.name ?? "experiment", to: run.data ? `/experiments/${run.data.experiment}/runs` : undefined },
            { label: run.data?.name ?? "run", to: e ? `/runs/${e.run}` : undefined },
            { label: e?.name ?? "step" },
          ]}
        />
        <h1>
          {e?.name ?? "Step"} <StatusBadge status={e?.status} /> {e && <CopyButtons id={e.id} />}
        </h1>
      </header>
      {step.error && <Problem error={step.error} />}
      {!e && step.loading && <Loading what="Loading the step" />}
      {e && (
        <div className="run-overview">
          <div className="run-facts card" data-testid="step-facts">
            <Fact label="status">
              <StatusBadge status={e.status} />
            </Fact>
            <Fact label="duration">{seconds === null ? <span className="muted">running</span> : formatDuration(seconds)}</Fact>
            <Fact label="started">{formatTime(e.startTime ?? e.createTime)}</Fact>
            <Fact label="ended">{e.endTime ? formatTime(e.endTime) : <span className="muted">—</span>}</Fact>
            <Fact label="kind">{e.kind}</Fact>
            <Fact label="executable">
              {exe ? (
                <span title={exe.uri ?? undefined}>
                  {exe.name} <span className="muted">v{exe.version}</span>
                </span>
              ) : (
                "…"
              )}
            </Fact>
            <Fact label="run">{run.data ? <Link to={`/runs/${e.run}`}>{run.data.name}</Link> : "…"}</Fact>
          </div>
          <div className="columns">
            <div className="card" data-testid="step-parameters">
              <h2>Configuration</h2>
              {Object.keys(e.configuration ?? {}).length === 0 ? <Empty>No configuration.</Empty> : <Pairs entries={flatten(e.configuration ?? {})} />}
            </div>
            <div className="card" data-testid="step-executable">
              <h2>Executable</h2>
              {executable.error && <Problem error={executable.error} />}
              {exe && (
                <Pairs
                  entries={[
                    ["name", exe.name],
                    ["version", exe.version],
                    ...(exe.uri ? [["uri", exe.uri] as [string, unknown]] : []),
                    ...Object.entries(exe.annotations ?? {}).sort(([a], [b]) => a.localeCompare(b)),
                    ...Object.entries(e.annotations ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [`step ${k}`, v] as [string, unknown]),
                    ...(e.uri ? [["storage uri", e.uri] as [string, unknown]] : []),
                  ]}
                />
              )}
            </div>
          </div>
          <StepMetrics step={e} metrics={metrics} outputs={outputs.data?.items} />
          <div className="columns">
            <div className="card" data-testid="step-inputs">
              <h2>Inputs</h2>
              <Artifacts list={inputs} total={e.inputArtifacts.length} filter={`consumedBy:eq:${e.id}`} empty="It read no artifact." />
            </div>
            <div className="card" data-testid="step-outputs">
              <h2>Outputs</h2>
              <Artifacts list={outputs} total={e.outputArtifacts.length} filter={`producedBy:eq:${e.id}`} empty="It wrote no artifact." />
            </div>
          </div>
          <Reuse step={e} cache={cache} />
        </div>
      )}
    </section>
  );
}

/** The series the step logged itself, charted, and the metrics artifacts it wrote. */
function StepMetrics({ step, metrics, outputs }: { step: Execution; metrics: Async<RunMetrics | undefined>; outputs?: Artifact[] }) {
  const own = (metrics.data?.series ?? []).filter((s) => s.execution === step.id).sort((a, b) => a.key.localeCompare(b.key));
  const written = (outputs ?? []).filter((a) => a.kind === "metrics");
  return (
    <div className="card" data-testid="step-metrics">
      <h2>Metrics</h2>
      {metrics.error && <Problem error={metrics.error} />}
      {metrics.loading && !metrics.data && <Loading what="Loading the metrics" />}
      {written.length > 0 && (
        <ul className="plain artifact-list" aria-label="metrics written">
          {written.map((a) => (
            <li key={a.id} data-metric-artifact={a.name}>
              <ArtifactLink id={a.id}>{a.name}</ArtifactLink>{" "}
              {isMetricNumber(a.attributes.value) && (
                <strong>
                  = <MetricValue value={a.attributes.value} />
                </strong>
              )}
            </li>
          ))}
        </ul>
      )}
      {metrics.data && own.length === 0 && written.length === 0 && <Empty>This step logged no metric.</Empty>}
      {own.length > 0 && (
        <>
          <MetricTable run={step.run} metrics={own} execution={step.id} />
          <div className="charts">
            {own.slice(0, RUN_CHARTS).map((m) => (
              <SeriesChart key={m.key} run={step.run} metric={m} execution={step.id} />
            ))}
          </div>
          {own.length > RUN_CHARTS && <p className="muted">The first {RUN_CHARTS} of {own.length} metrics are charted.</p>}
        </>
      )}
    </div>
  );
}

function Artifacts({ list, total, filter, empty }: { list: Async<{ items: Artifact[]; more: boolean }>; total: number; filter: string; empty: string }) {
  if (list.error) return <Problem error={list.error} />;
  if (!list.data) return <Loading what="Loading the artifacts" />;
  if (list.data.items.length === 0) return <Empty>{empty}</Empty>;
  return (
    <>
      <ul className="plain artifact-list">
        {list.data.items.map((a) => (
          <li key={a.id} data-artifact={a.name}>
            <ArtifactLink id={a.id}>{a.name}</ArtifactLink> <ArtifactVersion version={a.version} fingerprint={a.fingerprint} />{" "}
            <span className="badge">{a.kind}</span>
            {a.kind === "metrics" && isMetricNumber(a.attributes.value) && (
              <strong className="metric-value">
                {" "}
                = <MetricValue value={a.attributes.value} />
              </strong>
            )}
          </li>
        ))}
      </ul>
      {list.data.more && (
        <Link to={`/artifacts?filter=${encodeURIComponent(filter)}`}>
          all {total.toLocaleString()} in the artifacts table
        </Link>
      )}
    </>
  );
}

/** Whether the step's work was done before: reused outputs, or another step with its fingerprint. */
function Reuse({ step, cache }: { step: Execution; cache: Async<Awaited<ReturnType<typeof sameWork>> | undefined> }) {
  const reused = useAsync(async () => (step.reusedFrom ? getExecution(step.reusedFrom) : undefined), [step.reusedFrom]);
  const hit = cache.data?.latest;
  const others = (cache.data?.total ?? 0) - 1;
  return (
    <div className="card" data-testid="step-reuse">
      <h2>Cache</h2>
      <dl className="provenance">
        <dt>fingerprint</dt>
        <dd>
          <code title={step.fingerprint}>{step.fingerprint.slice(0, 12)}</code> <CopyButton text={step.fingerprint} label="copy" what="fingerprint" />
        </dd>
        <dt>reused</dt>
        <dd data-testid="reused-from">
          {step.reusedFrom ? (
            <>
              its outputs are those of <Link to={`/executions/${step.reusedFrom}`}>{reused.data?.name ?? step.reusedFrom.slice(0, 8)}</Link>
              {reused.data && reused.data.run !== step.run && (
                <>
                  {" "}
                  of <RunName id={reused.data.run} />
                </>
              )}
            </>
          ) : (
            <span className="muted">no: it did its own work</span>
          )}
        </dd>
        <dt>same work</dt>
        <dd data-testid="same-work">
          {cache.error ? (
            <Problem error={cache.error} />
          ) : cache.loading && !cache.data ? (
            "…"
          ) : hit ? (
            <>
              also done by <Link to={`/executions/${hit.id}`}>{hit.name}</Link> of {hit.run === step.run ? "this run" : <RunName id={hit.run} />}
              {hit.endTime && <span className="muted"> ({formatTime(hit.endTime)})</span>}
              {others > 0 && (
                <>
                  {" "}
                  and{" "}
                  <Link to={`/executions?filter=${encodeURIComponent(`fingerprint:eq:${step.fingerprint}`)}&filter=${encodeURIComponent("status:eq:SUCCESS")}`}>
                    {others.toLocaleString()} other step{others === 1 ? "" : "s"}
                  </Link>
                </>
              )}
            </>
          ) : (
            <span className="muted">no other successful step did this work</span>
          )}
        </dd>
      </dl>
    </div>
  );
}

function RunName({ id }: { id: string }) {
  const run = useAsync(() => getRun(id), [id]);
  return <Link to={`/runs/${id}`}>{run.data?.name ?? `run ${id.slice(0, 8)}`}</Link>;
}
