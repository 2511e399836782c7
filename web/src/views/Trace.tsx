// FR10, Figures 8.2 and 8.5: all runs of an experiment in time order, left to right; equal
// artifacts (same fingerprint) are one node; selecting an artifact highlights what depends on it.
import { useMemo } from "react";
import { getExperiment, getJson } from "../api/client";
import { Graph, type GraphEdge, type GraphNode } from "../components/Graph";
import { Empty, FirstProblem, Loading } from "../components/Status";
import { ExperimentCrumbs } from "../components/Crumbs";
import { useTitle } from "../context";
import { formatTime, useAsync } from "../hooks";
import { Link, navigate, withQuery, type Location } from "../router";
import { versionTag } from "../lineage";
import { ArtifactPanel } from "./RunDag";

const COLUMN = 230;
const ROW = 84;
const DEFAULT_RUNS = 60;
/** A run head's lines (11 px, 200 px wide): about this many characters each, wrapped to at most HEAD_WRAP. */
const HEAD_CHARS = 25;
const HEAD_WRAP = 3;
const HEAD_LINE = 14;
/** A head's padding, frame and two lines of the run's name. */
const HEAD_BASE = 48;
/** The most runs one page of the trace draws (`?runs=`). */
export const MAX_RUNS = 1000;

interface TraceRun {
  id: string;
  name: string;
  status: string;
  createTime: string;
  /** node id of the run's trigger event */
  event?: string;
  /** what changed against the run before it: another dataset or model, new code, other parameters */
  changes: string[];
  /** the parameters that differ from the run before it, as the server says (the first few) */
  parameters?: string;
  /** all of them, one a line, for the column head's tooltip */
  allParameters?: string;
}

interface TraceNode {
  name: string;
  kind: string;
  /** its version, as a node shows it ("v3") */
  version?: string;
  /** the equal artifacts merged into this node */
  members: string[];
  flagged: boolean;
}

/** What the trace is drawn from: runs in time order, their steps, merged artifact nodes. */
interface TraceInput {
  runs: TraceRun[];
  steps: { run: string; inputs: string[]; outputs: string[]; code: string }[];
  nodes: Map<string, TraceNode>;
  /** older runs than these were left out */
  truncated: boolean;
}

interface TraceData {
  runs: TraceRun[];
  /** runs on this page, those hidden as unchanged too */
  all: number;
  truncated: boolean;
  nodes: GraphNode[];
  edges: GraphEdge[];
  members: Map<string, string[]>;
  children: Map<string, Set<string>>;
  flagged: Set<string>;
}

/** GET /experiments/{id}/trace, the server's merged trace (of the runs before ``before``). */
async function traceFromEndpoint(experimentId: string, before: string | null, limit: number): Promise<TraceInput> {
  type RawNode = { id: string; name: string; kind?: string; version?: string; artifacts?: string[] | null; flagged?: unknown; attributes?: Record<string, unknown> | null };
  type Raw = {
    runs: {
      id: string;
      name: string;
      status: string;
      createTime: string;
      trigger?: { id: string; name: string; cause?: string | null } | null;
      parameterChanges?: { key: string; value?: unknown; removed?: boolean | null }[] | null;
      executions: { inputs: string[]; outputs: string[]; executable?: { name: string; version: string; uri?: string | null } }[];
    }[];
    artifacts: RawNode[];
    truncated: boolean;
  };
  const raw = await getJson<Raw>(`/experiments/${experimentId}/trace`, { limit, before: before ?? undefined });
  // Lets benchmarks/ui_graphs.py tell fetching from layout and drawing.
  performance.mark("modeltrail:graph-fetched");
  const nodes = new Map<string, TraceNode>();
  for (const n of raw.artifacts) {
    const name = n.kind === "event" ? String(n.attributes?.cause ?? n.name) : n.name;
    nodes.set(n.id, { name, kind: n.kind ?? "artifact", version: n.kind === "event" ? undefined : versionTag(n.version), members: n.artifacts?.length ? n.artifacts : [n.id], flagged: Boolean(n.flagged) });
  }
  for (const r of raw.runs) {
    if (r.trigger && !nodes.has(r.trigger.id)) {
      nodes.set(r.trigger.id, { name: r.trigger.cause ?? r.trigger.name, kind: "event", members: [r.trigger.id], flagged: false });
    }
  }
  const code = (x: Raw["runs"][number]["executions"][number]) => (x.executable ? `${x.executable.name} ${x.executable.version}${x.executable.uri ? ` (${x.executable.uri})` : ""}` : "");
  return {
    runs: raw.runs.map((r) => ({ id: r.id, name: r.name, status: r.status, createTime: r.createTime, event: r.trigger?.id, changes: [], parameters: parameterText(r.parameterChanges), allParameters: parameterText(r.parameterChanges, Infinity, "\n  ") })),
    steps: raw.runs.flatMap((r) => r.executions.map((x) => ({ run: r.id, inputs: x.inputs, outputs: x.outputs, code: code(x) }))),
    nodes,
    truncated: raw.truncated,
  };
}

/** "parameters: lr=0.01, seed removed", the first few (`most`) of a run's changed parameters. */
function parameterText(changes?: { key: string; value?: unknown; removed?: boolean | null }[] | null, most = 3, between = ", "): string | undefined {
  if (!changes?.length) return undefined;
  const shown = changes.slice(0, most).map((c) => (c.removed ? `${c.key} removed` : `${c.key}=${typeof c.value === "string" ? c.value : JSON.stringify(c.value ?? null)}`));
  return `parameters: ${shown.join(between)}${changes.length > most ? ` and ${changes.length - most} more` : ""}`;
}

/** "another dataset", "another model", "another input (report)": an input of a kind a run changed. */
function changedInput(kind: string): string {
  if (kind === "dataset" || kind === "model") return `another ${kind}`;
  return kind === "artifact" ? "another input" : `another input (${kind})`;
}

/**
 * What each run changed against the run before it: the data it read from outside itself (equal
 * data is one node, so another node is other data), the code of its steps and its parameters.
 */
function markChanges(input: TraceInput): void {
  let previous: { data: Set<string>; code: Set<string> } | null = null;
  for (const run of input.runs) {
    const steps = input.steps.filter((x) => x.run === run.id);
    const made = new Set(steps.flatMap((x) => x.outputs));
    const data = new Set(steps.flatMap((x) => x.inputs).filter((n) => !made.has(n) && input.nodes.get(n)?.kind !== "event"));
    const code = new Set(steps.map((x) => x.code).filter(Boolean));
    if (previous) {
      // Named by what the input is: a model another run trained is no dataset.
      const added = new Map<string, Set<string>>();
      for (const n of data) {
        if (previous.data.has(n)) continue;
        const kind = input.nodes.get(n)?.kind ?? "artifact";
        added.set(kind, (added.get(kind) ?? new Set()).add(input.nodes.get(n)?.name ?? n));
      }
      added.forEach((names, kind) => run.changes.push(`${changedInput(kind)}: ${[...names].join(", ")}`));
      const newCode = [...code].filter((c) => !previous!.code.has(c));
      if (newCode.length) run.changes.push(`new code: ${newCode.join(", ")}`);
    }
    if (run.parameters) run.changes.push(run.parameters);
    previous = { data, code };
  }
}

/**
 * The runs a trace shows (`changed` in its address): all; only those that changed anything
 * ("only"); only those that read other data or ran other code ("data"), as a sweep whose every
 * run has another seed changes its parameters in each.
 */
type Shown = "all" | "only" | "data";

/** Whether a run changed what it shows: anything, or more than its parameters. */
function changedFor(shown: Shown, r: TraceRun): boolean {
  return shown === "data" ? r.changes.some((c) => c !== r.parameters) : r.changes.length > 0;
}

async function loadTrace(experimentId: string, before: string | null, limit: number, which: Shown): Promise<TraceData> {
  const input = await traceFromEndpoint(experimentId, before, limit);
  markChanges(input);
  const runs = which === "all" ? input.runs : input.runs.filter((r, i) => i === 0 || changedFor(which, r));
  const shown = new Set(runs.map((r) => r.id));
  const { nodes: traceNodes, truncated } = input;
  const steps = input.steps.filter((x) => shown.has(x.run));
  const runIndex = new Map(runs.map((r, i) => [r.id, i]));
  const column = new Map<string, number>(); // merged node -> first run using it
  const depth = new Map<string, number>();
  const children = new Map<string, Set<string>>();
  const edgeSet = new Map<string, GraphEdge>();
  const link = (s: string, t: string, runId: string) => {
    if (s === t) return;
    children.set(s, (children.get(s) ?? new Set()).add(t));
    edgeSet.set(`${s}>${t}`, { source: s, target: t, className: `edge-run run-${runIndex.get(runId) ?? 0}` });
  };
  const use = (node: string, runId: string) => {
    const i = runIndex.get(runId) ?? 0;
    if (traceNodes.has(node) && (!column.has(node) || column.get(node)! > i)) column.set(node, i);
  };
  const usedBy = new Map<string, Set<string>>();
  for (const r of runs) if (r.event) use(r.event, r.id);
  for (const x of steps) {
    if (!runIndex.has(x.run)) continue;
    const ins = x.inputs.filter((n) => traceNodes.has(n));
    const outs = x.outputs.filter((n) => traceNodes.has(n));
    [...ins, ...outs].forEach((n) => (use(n, x.run), usedBy.set(n, (usedBy.get(n) ?? new Set()).add(x.run))));
    for (const i of ins) for (const o of outs) link(i, o, x.run);
  }
  // Depth: longest path from a source, so each run's pipeline reads top to bottom.
  const parents = new Map<string, string[]>();
  edgeSet.forEach((e) => parents.set(e.target, [...(parents.get(e.target) ?? []), e.source]));
  const visiting = new Set<string>();
  const depthOf = (n: string): number => {
    if (depth.has(n)) return depth.get(n)!;
    if (visiting.has(n)) return 0;
    visiting.add(n);
    const d = Math.max(-1, ...(parents.get(n) ?? []).map(depthOf)) + 1;
    depth.set(n, d);
    return d;
  };
  const sorted = [...column.keys()].sort((a, b) => column.get(a)! - column.get(b)! || depthOf(a) - depthOf(b));
  const isEvent = (id: string) => traceNodes.get(id)!.kind === "event";
  // Row 0 holds each run's trigger; artifacts follow by depth. Nodes sharing a row of one run sit
  // side by side, so a column is as wide as its widest row.
  const row = (id: string) => (isEvent(id) ? 0 : depthOf(id) + 1);
  const slot = new Map<string, number>();
  const width = new Map<number, number>();
  for (const id of sorted) {
    const key = `${column.get(id)}:${row(id)}`;
    const n = slot.get(key) ?? 0;
    slot.set(id, n);
    slot.set(key, n + 1);
    width.set(column.get(id)!, Math.max(width.get(column.get(id)!) ?? 1, n + 1));
  }
  const left: number[] = [];
  runs.forEach((_, i) => (left[i] = i === 0 ? 0 : left[i - 1] + (width.get(i - 1) ?? 1) * COLUMN + 40));
  const nodes: GraphNode[] = [];
  for (const id of sorted) {
    const a = traceNodes.get(id)!;
    const runsUsing = usedBy.get(id)?.size ?? 0;
    nodes.push({
      id,
      label: a.kind === "event" ? `⚡ ${a.name}` : a.name,
      tag: a.version,
      sublabel: `${a.kind}${runsUsing > 1 ? ` · in ${runsUsing} runs` : ""}${a.flagged ? " · flagged" : ""}`,
      className: `artifact kind-${a.kind}${a.flagged ? " flagged" : ""}`,
      kind: a.kind,
      position: { x: left[column.get(id)!] + slot.get(id)! * COLUMN, y: 40 + row(id) * ROW },
      width: 200,
    });
  }
  // A run's head: its full name, its status, and each change against the run before on lines
  // of its own, wrapped, never cut. All heads are as tall as the one that says the most.
  const status = (r: TraceRun) => `${r.status} · ${formatTime(r.createTime)}`;
  const headLines = (r: TraceRun) => [status(r), ...r.changes].reduce((sum, t) => sum + Math.min(HEAD_WRAP, Math.ceil(t.length / HEAD_CHARS)), 0);
  const headHeight = HEAD_BASE + HEAD_LINE * Math.max(1, ...runs.map(headLines));
  runs.forEach((r, i) =>
    nodes.push({
      id: `run:${r.id}`,
      label: r.name,
      lines: [{ text: status(r), className: `node-status status-${r.status.toLowerCase()}` }, ...r.changes.map((text) => ({ text, className: "node-change" }))],
      title: [r.name, status(r), ...r.changes.map((c) => (c === r.parameters && r.allParameters ? r.allParameters : c))].join("\n"),
      className: `run-header status-${r.status.toLowerCase()}${r.changes.length ? " changed" : ""}`,
      // The head ends just above the first row, however tall it is.
      position: { x: left[i], y: 2 - headHeight },
      width: 200,
      height: headHeight,
    }),
  );
  const members = new Map([...traceNodes].map(([id, n]) => [id, n.members]));
  return { runs, all: input.runs.length, truncated, nodes, edges: [...edgeSet.values()], members, children, flagged: new Set(sorted.filter((n) => traceNodes.get(n)!.flagged)) };
}

/** Resolves once the browser has painted what is rendered now (two frames later). */
function afterPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 0))));
}

function downstream(children: Map<string, Set<string>>, roots: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    for (const c of children.get(n) ?? []) {
      if (!out.has(c)) {
        out.add(c);
        stack.push(c);
      }
    }
  }
  return out;
}

export function Trace({ id, location }: { id: string; location: Location }) {
  const selected = location.query.get("select");
  const before = location.query.get("before");
  const limit = Math.max(1, Math.min(MAX_RUNS, Number(location.query.get("runs") ?? DEFAULT_RUNS) || DEFAULT_RUNS));
  const changed = location.query.get("changed");
  const shown: Shown = changed === "only" || changed === "data" ? changed : "all";
  const experiment = useAsync(() => getExperiment(id), [id]);
  useTitle("trace", experiment.data?.name);
  // The newest runs first, drawn at once; then all the runs asked for, which replace them.
  const first = useAsync(() => loadTrace(id, before, Math.min(limit, DEFAULT_RUNS), shown), [id, before, limit, shown]);
  const rest = useAsync(
    async () => {
      if (limit <= DEFAULT_RUNS || !first.data) return null;
      await afterPaint(); // the newest runs are on screen before the rest is read and laid out
      return loadTrace(id, before, limit, shown);
    },
    [id, before, limit, shown, Boolean(first.data)],
  );
  const trace = rest.data && !rest.loading ? rest : first;
  const t = trace.data ?? undefined;
  const more = limit > DEFAULT_RUNS && t !== undefined && t.truncated && rest.loading;
  const affected = useMemo(() => (t ? downstream(t.children, t.flagged) : new Set<string>()), [t]);
  const highlighted = useMemo(() => (t && selected ? downstream(t.children, [selected]) : undefined), [t, selected]);
  const nodes = useMemo(
    () => t?.nodes.map((n) => (affected.has(n.id) && !t.flagged.has(n.id) ? { ...n, className: `${n.className} affected` } : n)) ?? [],
    [t, affected],
  );
  const members = selected ? (t?.members.get(selected) ?? []) : [];

  return (
    <section className="view split graph-view">
      <div className="main">
        <header className="view-head">
          <ExperimentCrumbs id={id} here="trace" />
          <h1>Trace of {experiment.data?.name ?? "experiment"}</h1>
          <div className="muted">
            Runs in time order, left to right; equal artifacts are drawn once. Select an artifact to highlight everything that depends on it. ·{" "}
            <Link to={`/experiments/${id}/history`}>run history</Link>
          </div>
          <div className="legend">
            <span className="swatch flagged">flagged</span>
            <span className="swatch affected">affected by a flag</span>
            <span className="swatch highlighted">depends on the selection</span>
            <span className="swatch changed">changed against the run before</span>
            <label>
              <input type="checkbox" checked={shown !== "all"} onChange={(e) => navigate(withQuery({ changed: e.target.checked ? "only" : null, select: null }), true)} /> only the runs that changed
            </label>
            <label title="hide the runs whose only change is their parameters">
              <input type="checkbox" checked={shown === "data"} onChange={(e) => navigate(withQuery({ changed: e.target.checked ? "data" : "only", select: null }), true)} /> other data or code only
            </label>
          </div>
        </header>
        <FirstProblem errors={[experiment.error, first.error, rest.error]} />
        {trace.loading && !t && <Loading what="Tracing the experiment's runs" />}
        {t && t.runs.length === 0 && <Empty>{before ? "No runs before that one." : "This experiment has no runs yet."}</Empty>}
        {t && (t.truncated || before) && (
          <div className="muted trace-pages">
            {before ? `${t.all} older run${t.all === 1 ? "" : "s"}` : `The newest ${t.all} runs`}
            {t.truncated && (more ? "; loading older runs…" : "; older runs are left out")}
            {t.truncated && t.runs[0] && !more && (
              <>
                {" · "}
                <Link to={withQuery({ before: t.runs[0].id, select: null })}>older runs</Link>
              </>
            )}
            {before && (
              <>
                {" · "}
                <Link to={withQuery({ before: null, select: null })}>newest runs</Link>
              </>
            )}
          </div>
        )}
        {t && t.runs.length > 0 && (
          <Graph key={`${t.runs[0]?.id}:${t.runs.length}:${t.all}`} nodes={nodes} edges={t.edges} selected={selected} highlighted={highlighted} direction="TB" focus={`run:${t.runs[t.runs.length - 1]?.id}`} anchor="end" onSelect={(n) => (n?.startsWith("run:") ? navigate(`/runs/${n.slice(4)}`) : navigate(withQuery({ select: n }), true))} />
        )}
      </div>
      <aside className="panel" aria-label="details">
        {!members[0] && <Empty>Select an artifact to highlight its dependents and see its details.</Empty>}
        {selected && members[0] && (
          <ArtifactPanel
            id={members[0]}
            extra={
              <p data-testid="dependents">
                {highlighted?.size ?? 0} dependent artifact(s) highlighted
                {members.length > 1 ? `; ${members.length} equal artifacts merged` : ""}
              </p>
            }
          />
        )}
      </aside>
    </section>
  );
}
