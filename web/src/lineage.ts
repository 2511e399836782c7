// The lineage questions the views ask, each answered by the server's lineage endpoint (the
// contract in docs/ui.md), normalized into the shapes the views draw.
import { getJson } from "./api/client";
import { formatBytes, formatNumber } from "./api/tracking";

export interface LNode {
  id: string;
  type: "execution" | "artifact";
  name: string;
  kind?: string;
  status?: string;
  fingerprint?: string;
  /** an artifact's version */
  version?: string;
  /** a step's run's name: what tells apart the steps of one executable that many runs ran */
  runName?: string;
  createTime?: string;
  /** a step's start and end */
  startTime?: string;
  endTime?: string;
  /** neighbours further from the root that the answer left out */
  more?: number;
  /** the value a reader looks for first: a metric's value, a dataset's rows, size or classes */
  keyValue?: string;
}

// Attributes that count rows; `size` is a size in bytes (as a file's), never a count of rows.
const ROW_KEYS = ["rows", "rowCount", "numRows", "num_rows", "records"];

/** A count with thousands separators; any other number as the runs grid shows a metric. */
function formatValue(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en") : formatNumber(v);
}

/** A metric's numeric value; an artifact's row count, its size or its classes, where its attributes say. */
function keyValueOf(kind: string | undefined, attributes: unknown): string | undefined {
  if (!attributes || typeof attributes !== "object") return undefined;
  const a = attributes as Record<string, unknown>;
  if (kind === "metrics" && typeof a.value === "number") return `= ${formatValue(a.value)}`;
  const rows = ROW_KEYS.find((k) => typeof a[k] === "number");
  if (rows) return `${formatValue(a[rows] as number)} rows`;
  if (typeof a.size === "number" && Number.isInteger(a.size) && a.size >= 0) return formatBytes(a.size);
  if (typeof a.classes === "number") return `${formatValue(a.classes)} classes`;
  return undefined;
}

/** An artifact's version as a node shows it: "v3" for 3, any other as it is ("2024-05", "v2"). */
export function versionTag(version: string | undefined): string | undefined {
  if (!version) return undefined;
  return /^\d+$/.test(version) ? `v${version}` : version;
}

export interface LEdge {
  source: string;
  target: string;
  type: string;
}

export interface LGraph {
  nodes: LNode[];
  edges: LEdge[];
  truncated?: boolean;
  /** the node budget left nodes out (nodes with `more` lead to them) */
  limited?: boolean;
  /** asked with a search (`match`): how many nodes of the lineage hold it, sent or not */
  matched?: number;
}

function normalizeNode(raw: Record<string, unknown>): LNode {
  const entity = (raw.execution ?? raw.artifact ?? raw.data ?? {}) as Record<string, unknown>;
  const pick = (k: string) => (raw[k] ?? entity[k]) as string | undefined;
  return {
    id: String(raw.id),
    type: raw.type === "execution" ? "execution" : "artifact",
    name: pick("name") ?? String(raw.id).slice(0, 8),
    kind: pick("kind"),
    status: pick("status"),
    fingerprint: pick("fingerprint"),
    version: pick("version"),
    runName: pick("runName"),
    createTime: pick("createTime"),
    startTime: pick("startTime"),
    endTime: pick("endTime"),
    more: typeof raw.more === "number" && raw.more > 0 ? raw.more : undefined,
    keyValue: keyValueOf(pick("kind"), raw.attributes ?? entity.attributes),
  };
}

const DRAWN = new Set(["artifact", "execution", "event"]);

function normalizeGraph(raw: { nodes?: Record<string, unknown>[]; edges?: LEdge[]; truncated?: boolean; limited?: boolean; matched?: number }): LGraph {
  // Runs and experiments may be nodes of a server's graph; these views draw artifacts and steps.
  const nodes = (raw.nodes ?? []).filter((n) => DRAWN.has(String(n.type ?? "artifact"))).map(normalizeNode);
  const ids = new Set(nodes.map((n) => n.id));
  return {
    nodes,
    edges: (raw.edges ?? [])
      .map((e) => ({ source: String(e.source), target: String(e.target), type: String(e.type ?? "") }))
      .filter((e) => ids.has(e.source) && ids.has(e.target)),
    truncated: Boolean(raw.truncated),
    limited: Boolean(raw.limited),
    matched: typeof raw.matched === "number" ? raw.matched : undefined,
  };
}

/** FR3: the executions of one run with their input and output artifacts. */
export async function runDag(runId: string): Promise<LGraph> {
  return normalizeGraph(await getJson(`/runs/${runId}/dag`));
}

/** The deepest lineage the server follows (`limits.MAX_LINEAGE_DEPTH`; its OpenAPI document says the same). */
export const MAX_DEPTH = 10_000;

/** The most nodes one lineage answer holds (`limits.MAX_LINEAGE_NODES`). */
export const MAX_NODES = 20_000;

/** The longest search the server takes (`limits.MAX_NAME`). */
export const MAX_MATCH = 256;

/**
 * FR4/FR5: artifacts and executions upstream or downstream of an artifact (or of an execution's
 * inputs or outputs), `depth` steps, the `maxNodes` nearest first; with `match`, the nodes that
 * hold it first, wherever they are within the depth, each with its way from the start.
 */
export async function lineage(id: string, direction: "upstream" | "downstream", depth: number, maxNodes?: number, from: "artifacts" | "executions" = "artifacts", match?: string): Promise<LGraph> {
  return normalizeGraph(await getJson(`/${from}/${id}/lineage`, { direction, depth, maxNodes, match }));
}

export interface Difference {
  title: string;
  what: string;
  kind?: string;
  a?: unknown;
  b?: unknown;
  raw?: unknown;
}

/** The lineage diff of `a` against `b`: what differs upstream, the root cause (furthest up) first. */
export async function lineageDiff(a: string, b: string): Promise<Difference[]> {
  // The server's LineageDiff: differences root cause first, each with a category, a subject,
  // a summary and the ids on either side (after: this lineage, before: the other's).
  const raw = await getJson<{ differences?: Record<string, unknown>[] }>(`/artifacts/${a}/diff`, { against: b });
  const differences = (raw.differences ?? []).map((d): Difference => {
    // Inputs and triggers name artifacts on either side; other categories name runs or steps.
    const linksArtifacts = d.category === "input" || d.category === "trigger";
    const id = (v: unknown) => (v && linksArtifacts ? { id: String(v) } : undefined);
    const subject = String(d.subject ?? d.name ?? "difference");
    const summary = String(d.summary ?? "");
    const detail = summary.startsWith(subject) ? summary.slice(subject.length).replace(/^:\s*/, "") : summary;
    return {
      title: subject,
      what: `${detail}${d.derived ? " (follows from a difference above)" : ""}`,
      kind: (d.category ?? d.kind) as string | undefined,
      a: id(d.afterId),
      b: id(d.beforeId),
      raw: d,
    };
  });
  return differences;
}

export interface HistoryRow {
  id: string;
  name: string;
  status: string;
  createTime: string;
  cause?: string;
  firstFailed?: string;
  firstFailedId?: string;
}

/** The last deployment a run history names: a move of the production alias, or a run's deploy step. */
export type LastDeployment =
  | { type: "alias"; model: string; alias: string; version: number; time: string; run?: string }
  | { type: "run"; run: string; time: string };

/** FR7: runs of an experiment with trigger cause, status and first failed step. */
export async function runHistory(
  experimentId: string,
  sinceLastDeploy: boolean,
): Promise<{ rows: HistoryRow[]; lastDeployment?: LastDeployment; countsByCause: Record<string, number> }> {
  type Raw = {
    runs: { id: string; name: string; status: string; createTime: string; trigger?: { cause?: string | null; name?: string } | null; firstFailed?: { id?: string; name?: string } | null }[];
    lastDeploy?: { name: string; createTime: string } | null;
    lastDeployment?: { model: string; alias: string; version: number; time: string } | null;
    countsByCause?: Record<string, number>;
  };
  const raw = await getJson<Raw>(`/experiments/${experimentId}/history`, { sinceLastDeploy });
  const rows = raw.runs
    .map((r) => ({ id: r.id, name: r.name, status: r.status, createTime: r.createTime, cause: r.trigger?.cause ?? r.trigger?.name, firstFailed: r.firstFailed?.name, firstFailedId: r.firstFailed?.id }))
    .sort((x, y) => (x.createTime < y.createTime ? 1 : -1));
  // A move of the alias is dated by the move itself, not by the run that made the version.
  const moved = raw.lastDeployment;
  const lastDeployment: LastDeployment | undefined = moved
    ? { type: "alias", model: moved.model, alias: moved.alias, version: moved.version, time: moved.time, run: raw.lastDeploy?.name }
    : raw.lastDeploy
      ? { type: "run", run: raw.lastDeploy.name, time: raw.lastDeploy.createTime }
      : undefined;
  return { rows, lastDeployment, countsByCause: raw.countsByCause ?? {} };
}
