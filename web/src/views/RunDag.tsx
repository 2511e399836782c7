// FR3, Figure 8.1: the DAG of one run (a tab of its page); clicking a node opens its details.
import { useMemo } from "react";
import { getArtifact, getExecutable, getExecution, type Artifact } from "../api/client";
import { ArtifactLink, KeyValues } from "../components/Details";
import { Graph, type GraphEdge, type GraphNode } from "../components/Graph";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { useAsync } from "../hooks";
import { runDag, versionTag, type LGraph } from "../lineage";
import { Link, navigate, withQuery, type Location } from "../router";

export function toGraph(g: LGraph): { nodes: GraphNode[]; edges: GraphEdge[] } {
  // A model's key value is that of the first metric in the graph that refers to it.
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const measured = new Map<string, { name: string; value: string }>();
  for (const e of g.edges) {
    const metric = byId.get(e.target);
    if (e.type === "reference" && metric?.kind === "metrics" && metric.keyValue && !measured.has(e.source)) measured.set(e.source, { name: metric.name, value: metric.keyValue.replace(/^= /, "") });
  }
  return {
    nodes: g.nodes.map((n) => {
      const by = measured.get(n.id);
      const value = n.type === "execution" ? undefined : (n.keyValue ?? by?.value);
      return {
        id: n.id,
        label: n.name,
        // What tells apart the steps of one executable and the artifacts of one name (a trigger is one of a kind).
        tag: n.type === "execution" ? n.runName : n.kind === "event" ? undefined : versionTag(n.version),
        // The value stays whole beside the kind (and the metric's name), which are cut first.
        sublabel: n.type === "execution" ? `${n.kind ?? "step"} · ${n.status ?? ""}` : `${n.kind ?? "artifact"}${value ? ` ·${!n.keyValue && by ? ` ${by.name}` : ""}` : ""}`,
        value,
        className: n.type === "execution" ? `execution status-${(n.status ?? "unknown").toLowerCase()}` : `artifact kind-${n.kind ?? "unknown"}`,
        kind: n.type === "execution" ? "step" : (n.kind ?? "artifact"),
      };
    }),
    edges: g.edges.map((e) => ({ source: e.source, target: e.target, className: `edge-${e.type}`, kind: e.type })),
  };
}

/** The DAG tab of a run's page: its steps and artifacts; a click shows a node's details. */
export function RunDag({ id, location }: { id: string; location: Location }) {
  const selected = location.query.get("select");
  const dag = useAsync(() => runDag(id), [id]);
  const graph = useMemo(() => (dag.data ? toGraph(dag.data) : null), [dag.data]);
  const kindOf = dag.data?.nodes.find((n) => n.id === selected)?.type;

  return (
    <div className="split">
      <div className="main">
        <Legend />
        {dag.error && <Problem error={dag.error} />}
        {dag.loading && !dag.data && <Loading what="Loading the run's DAG" />}
        {graph && graph.nodes.length === 0 && <Empty>This run has no executions yet.</Empty>}
        {graph && graph.nodes.length > 0 && (
          <Graph nodes={graph.nodes} edges={graph.edges} selected={selected} onSelect={(n) => navigate(withQuery({ select: n }), true)} direction="auto" focus={selected ?? undefined} height="calc(100vh - 240px)" />
        )}
      </div>
      <aside className="panel" aria-label="details">
        {!kindOf && <Empty>Select a step or an artifact to see its details.</Empty>}
        {selected && kindOf === "execution" && <ExecutionPanel id={selected} />}
        {selected && kindOf === "artifact" && <ArtifactPanel id={selected} />}
      </aside>
    </div>
  );
}

/** A line as the graph draws an edge of this kind, with an arrowhead. */
function EdgeKey({ dash, children }: { dash?: string; children: string }) {
  return (
    <span className="edge-key">
      <svg width="34" height="10" aria-hidden="true">
        <line x1="1" y1="5" x2="27" y2="5" strokeDasharray={dash} />
        <path d="M26,1 L33,5 L26,9 z" />
      </svg>
      {children}
    </span>
  );
}

export function Legend({ more }: { more?: boolean }) {
  return (
    <div className="legend" aria-label="legend">
      <span className="swatch status-success">success</span>
      <span className="swatch status-running">running</span>
      <span className="swatch status-failed">failed</span>
      <span className="swatch artifact">artifact</span>
      {more && <span className="swatch artifact has-more">+N more: click to bring in</span>}
      <EdgeKey>read or written</EdgeKey>
      <EdgeKey dash="5 4">runs after</EdgeKey>
      <EdgeKey dash="2 3">refers to</EdgeKey>
    </div>
  );
}

function ExecutionPanel({ id }: { id: string }) {
  const x = useAsync(() => getExecution(id), [id]);
  const exe = useAsync(async () => (x.data ? getExecutable(x.data.executable) : undefined), [x.data?.executable]);
  if (x.error) return <Problem error={x.error} />;
  if (!x.data) return <Loading />;
  const e = x.data;
  return (
    <div className="details" data-testid="execution-details">
      <h2>
        {e.name} <StatusBadge status={e.status} />
      </h2>
      <p className="links">
        <Link to={`/executions/${e.id}`}>open the step’s page</Link>
      </p>
      <KeyValues
        entries={[
          ["kind", e.kind],
          ["executable", exe.data ? `${exe.data.name} ${exe.data.version}${exe.data.uri ? ` (${exe.data.uri})` : ""}` : e.executable],
          ["started", e.startTime],
          ["ended", e.endTime],
          ["storage uri", e.uri],
          ["configuration", e.configuration],
          ["reused from", e.reusedFrom],
          ["fingerprint", e.fingerprint],
        ]}
      />
      <h3>Inputs</h3>
      <ul className="plain">{e.inputArtifacts.length ? e.inputArtifacts.map((a) => <li key={a}><ArtifactName id={a} /></li>) : <li className="muted">none</li>}</ul>
      <h3>Outputs</h3>
      <ul className="plain">{e.outputArtifacts.length ? e.outputArtifacts.map((a) => <li key={a}><ArtifactName id={a} /></li>) : <li className="muted">none</li>}</ul>
    </div>
  );
}

function ArtifactName({ id }: { id: string }) {
  const a = useAsync(() => getArtifact(id), [id]);
  return <ArtifactLink id={id}>{a.data ? `${a.data.name} (${a.data.kind})` : id.slice(0, 8)}</ArtifactLink>;
}

export function ArtifactPanel({ id, extra }: { id: string; extra?: React.ReactNode }) {
  const a = useAsync<Artifact>(() => getArtifact(id), [id]);
  if (a.error) return <Problem error={a.error} />;
  if (!a.data) return <Loading />;
  const art = a.data;
  return (
    <div className="details" data-testid="artifact-details">
      <h2>
        {art.name} <span className="badge">{art.kind}</span>
      </h2>
      {extra}
      <KeyValues
        entries={[
          ["version", art.version],
          ["created", art.createTime],
          ["storage uri", art.uri],
          ["description", art.description],
          ["attributes", art.attributes],
          ["fingerprint", art.fingerprint],
        ]}
      />
      <p className="links">
        <Link to={`/artifacts/${art.id}`}>details</Link> · <Link to={`/artifacts/${art.id}/lineage`}>lineage</Link> ·{" "}
        <Link to={`/compare?a=${art.id}`}>compare / why</Link>
      </p>
    </div>
  );
}
