// The lineage questions the views ask. Each uses the server's lineage endpoint (the contract in
// docs/ui.md); where a server does not offer it yet (404 for the route), the answer is built from
// the list endpoints' relation filters instead, so the views work on any modeltrail server.
import { ApiError, getArtifact, getJson, listAll, type Artifact, type Execution, type Run } from "./api/client";

export interface LNode {
  id: string;
  type: "execution" | "artifact";
  name: string;
  kind?: string;
  status?: string;
  fingerprint?: string;
  createTime?: string;
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
  /** how the graph was obtained: the server's endpoint or the list endpoints */
  source: "endpoint" | "lists";
}

async function orFallback<T>(endpoint: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
  try {
    return await endpoint();
  } catch (e) {
    if (e instanceof ApiError && e.missingRoute) return fallback();
    throw e;
  }
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
    createTime: pick("createTime"),
  };
}

const DRAWN = new Set(["artifact", "execution", "event"]);

function normalizeGraph(raw: { nodes?: Record<string, unknown>[]; edges?: LEdge[]; truncated?: boolean }): LGraph {
  // Runs and experiments may be nodes of a server's graph; these views draw artifacts and steps.
  const nodes = (raw.nodes ?? []).filter((n) => DRAWN.has(String(n.type ?? "artifact"))).map(normalizeNode);
  const ids = new Set(nodes.map((n) => n.id));
  return {
    nodes,
    edges: (raw.edges ?? [])
      .map((e) => ({ source: String(e.source), target: String(e.target), type: String(e.type ?? "") }))
      .filter((e) => ids.has(e.source) && ids.has(e.target)),
    truncated: Boolean(raw.truncated),
    source: "endpoint",
  };
}

export const artifactNode = (a: Artifact): LNode => ({
  id: a.id,
  type: "artifact",
  name: a.name,
  kind: a.kind,
  fingerprint: a.fingerprint,
  createTime: a.createTime,
});

export const executionNode = (x: Execution): LNode => ({ id: x.id, type: "execution", name: x.name, kind: x.kind, status: x.status });

function graphOf(executions: Execution[], artifacts: Artifact[]): LGraph {
  const nodes = new Map<string, LNode>();
  executions.forEach((x) => nodes.set(x.id, executionNode(x)));
  artifacts.forEach((a) => nodes.set(a.id, artifactNode(a)));
  const edges: LEdge[] = [];
  for (const x of executions) {
    x.inputArtifacts.forEach((a) => nodes.has(a) && edges.push({ source: a, target: x.id, type: "input" }));
    x.outputArtifacts.forEach((a) => nodes.has(a) && edges.push({ source: x.id, target: a, type: "output" }));
    x.successors.forEach((s) => nodes.has(s) && edges.push({ source: x.id, target: s, type: "successor" }));
  }
  // The run's trigger event is in the run's artifacts but no step reads it: the header shows it.
  const linked = new Set(edges.flatMap((e) => [e.source, e.target]));
  return { nodes: [...nodes.values()].filter((n) => n.type === "execution" || linked.has(n.id)), edges, source: "lists" };
}

/** FR3: the executions of one run with their input and output artifacts. */
export function runDag(runId: string): Promise<LGraph> {
  return orFallback(
    async () => normalizeGraph(await getJson(`/runs/${runId}/dag`)),
    async () => {
      const [executions, artifacts] = await Promise.all([
        listAll<Execution>("executions", [`run:eq:${runId}`], "createTime"),
        listAll<Artifact>("artifacts", [`run:eq:${runId}`], "createTime"),
      ]);
      return graphOf(executions, artifacts);
    },
  );
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** FR4/FR5: artifacts and executions upstream or downstream of an artifact, `depth` steps. */
export function lineage(id: string, direction: "upstream" | "downstream", depth: number, maxNodes = 5000): Promise<LGraph> {
  return orFallback(
    async () => normalizeGraph(await getJson(`/artifacts/${id}/lineage`, { direction, depth })),
    async () => {
      const nodes = new Map<string, LNode>();
      const edges: LEdge[] = [];
      const seen = new Set<string>([id]);
      nodes.set(id, artifactNode(await getArtifact(id)));
      let frontier = [id];
      let truncated = false;
      for (let level = 0; level < depth && frontier.length; level++) {
        const next: string[] = [];
        // One request per chunk of the frontier, all chunks at once.
        const relation = direction === "upstream" ? "outputArtifact" : "inputArtifact";
        const artRelation = direction === "upstream" ? "consumedBy" : "producedBy";
        const executions = (await Promise.all(chunks(frontier, 100).map((part) => listAll<Execution>("executions", [`${relation}:in:${part.join(",")}`], undefined, 100_000)))).flat();
        const artifacts = (
          await Promise.all(chunks(executions.map((x) => x.id), 100).map((part) => listAll<Artifact>("artifacts", [`${artRelation}:in:${part.join(",")}`], undefined, 100_000)))
        ).flat();
        const byId = new Map(artifacts.map((a) => [a.id, a]));
        for (const x of executions) {
          nodes.set(x.id, executionNode(x));
          const near = direction === "upstream" ? x.outputArtifacts : x.inputArtifacts;
          const far = direction === "upstream" ? x.inputArtifacts : x.outputArtifacts;
          for (const a of near) if (nodes.has(a)) edges.push(direction === "upstream" ? { source: x.id, target: a, type: "output" } : { source: a, target: x.id, type: "input" });
          for (const a of far) {
            const art = byId.get(a);
            if (!art) continue;
            if (!nodes.has(a)) nodes.set(a, artifactNode(art));
            edges.push(direction === "upstream" ? { source: a, target: x.id, type: "input" } : { source: x.id, target: a, type: "output" });
            if (!seen.has(a)) {
              seen.add(a);
              next.push(a);
            }
          }
        }
        if (nodes.size > maxNodes) {
          truncated = true;
          break;
        }
        frontier = next;
      }
      const unique = new Map(edges.map((e) => [`${e.source}>${e.target}`, e]));
      return { nodes: [...nodes.values()], edges: [...unique.values()], truncated, source: "lists" };
    },
  );
}

export interface Difference {
  title: string;
  what: string;
  kind?: string;
  a?: unknown;
  b?: unknown;
  raw?: unknown;
}

/** Distance of every node from `root`, walking edges backwards (how far upstream it lies). */
export function upstreamDistance(graph: LGraph, root: string): Map<string, number> {
  const parents = new Map<string, string[]>();
  graph.edges.forEach((e) => parents.set(e.target, [...(parents.get(e.target) ?? []), e.source]));
  const dist = new Map([[root, 0]]);
  const queue = [root];
  while (queue.length) {
    const n = queue.shift()!;
    for (const p of parents.get(n) ?? []) {
      if (!dist.has(p)) {
        dist.set(p, dist.get(n)! + 1);
        queue.push(p);
      }
    }
  }
  return dist;
}

/** The lineage diff of `a` against `b`: what differs upstream, the root cause (furthest up) first. */
export function lineageDiff(a: string, b: string): Promise<{ differences: Difference[]; source: "endpoint" | "lists" }> {
  return orFallback<{ differences: Difference[]; source: "endpoint" | "lists" }>(
    async () => {
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
      return { differences, source: "endpoint" as const };
    },
    async () => {
      const [ga, gb] = await Promise.all([lineage(a, "upstream", 25), lineage(b, "upstream", 25)]);
      const da = upstreamDistance(ga, a);
      // Artifacts are matched by kind and name, and otherwise by their place in the pipeline
      // (the steps that wrote and read them), so that "digits-raw" and "letters-raw" read by
      // the same step are one change, not two unrelated ones.
      const byName = (n: LNode) => `${n.type}:${n.kind ?? ""}:${n.name}`;
      const place = (g: LGraph) => {
        const names = new Map(g.nodes.map((n) => [n.id, n.name]));
        const producer = new Map<string, string>();
        const consumers = new Map<string, string[]>();
        g.edges.forEach((e) => {
          if (e.type === "output") producer.set(e.target, names.get(e.source) ?? "");
          if (e.type === "input") consumers.set(e.source, [...(consumers.get(e.source) ?? []), names.get(e.target) ?? ""]);
        });
        return (n: LNode) => `${n.kind ?? ""}:${producer.get(n.id) ?? "-"}>${(consumers.get(n.id) ?? []).sort().join(",")}`;
      };
      const placeA = place(ga);
      const placeB = place(gb);
      const artifactsB = gb.nodes.filter((n) => n.type === "artifact" && n.id !== b);
      const nameB = new Map(artifactsB.map((n) => [byName(n), n]));
      const placeIndexB = new Map(artifactsB.map((n) => [placeB(n), n]));
      const found: (Difference & { depth: number })[] = [];
      const matched = new Set<string>();
      for (const n of ga.nodes) {
        if (n.type !== "artifact" || n.id === a) continue;
        let other = nameB.get(byName(n));
        if (!other || matched.has(other.id)) {
          const candidate = placeIndexB.get(placeA(n));
          other = candidate && !matched.has(candidate.id) && !ga.nodes.some((m) => byName(m) === byName(candidate)) ? candidate : undefined;
        }
        if (other) matched.add(other.id);
        const depth = da.get(n.id) ?? 0;
        if (!other) found.push({ title: n.name, what: "only in this lineage", kind: n.kind, a: n, depth });
        else if (other.fingerprint !== n.fingerprint) {
          const what = other.name === n.name ? "changed" : `replaces ${other.name}`;
          found.push({ title: n.name, what, kind: n.kind, a: n, b: other, depth });
        }
      }
      for (const n of artifactsB) {
        if (!matched.has(n.id)) found.push({ title: n.name, what: "only in the other lineage", kind: n.kind, b: n, depth: -1 });
      }
      found.sort((x, y) => y.depth - x.depth);
      return { differences: found, source: "lists" as const };
    },
  );
}

export interface Flag {
  artifact: string;
  reason?: string;
}

/** Flagged artifacts (FR5); none when the server does not offer flags. */
export async function flags(): Promise<Flag[]> {
  try {
    const raw = await getJson<unknown>("/flags");
    const items = (Array.isArray(raw) ? raw : ((raw as { items?: unknown[] })?.items ?? [])) as Record<string, unknown>[];
    return items.map((f) => {
      const artifact = f.artifact && typeof f.artifact === "object" ? (f.artifact as { id: string }).id : (f.artifact ?? f.artifactId ?? f.id);
      return { artifact: String(artifact), reason: f.reason as string | undefined };
    });
  } catch (e) {
    if (e instanceof ApiError && e.missingRoute) return [];
    throw e;
  }
}

export interface HistoryRow {
  id: string;
  name: string;
  status: string;
  createTime: string;
  cause?: string;
  firstFailed?: string;
}

/** FR7: runs of an experiment with trigger cause, status and first failed step. */
export function runHistory(experimentId: string, sinceLastDeploy: boolean): Promise<{ rows: HistoryRow[]; deployedAt?: string }> {
  return orFallback(
    async () => {
      type Raw = {
        runs: { id: string; name: string; status: string; createTime: string; trigger?: { cause?: string | null; name?: string } | null; firstFailed?: { name?: string } | null }[];
        lastDeploy?: { createTime?: string } | null;
      };
      const raw = await getJson<Raw>(`/experiments/${experimentId}/history`, { sinceLastDeploy });
      const rows = raw.runs
        .map((r) => ({ id: r.id, name: r.name, status: r.status, createTime: r.createTime, cause: r.trigger?.cause ?? r.trigger?.name, firstFailed: r.firstFailed?.name }))
        .sort((x, y) => (x.createTime < y.createTime ? 1 : -1));
      return { rows, deployedAt: raw.lastDeploy?.createTime };
    },
    () => historyFromLists(experimentId, sinceLastDeploy),
  );
}

async function historyFromLists(experimentId: string, sinceLastDeploy: boolean): Promise<{ rows: HistoryRow[]; deployedAt?: string }> {
  const [runs, executions, deployments] = await Promise.all([
    listAll<Run>("runs", [`experiment:eq:${experimentId}`], "-createTime"),
    listAll<Execution>("executions", [`experiment:eq:${experimentId}`, "status:eq:FAILED"], "startTime"),
    listAll<Artifact>("artifacts", [`experiment:eq:${experimentId}`, "kind:eq:deployment"], "-createTime", 1),
  ]);
  const deployedAt = deployments[0]?.createTime;
  const shown = sinceLastDeploy && deployedAt ? runs.filter((r) => r.createTime > deployedAt) : runs;
  const eventIds = [...new Set(shown.map((r) => r.event).filter(Boolean))] as string[];
  const events: Artifact[] = [];
  for (const part of chunks(eventIds, 40)) events.push(...(await listAll<Artifact>("artifacts", [`id:in:${part.join(",")}`])));
  const cause = new Map(events.map((e) => [e.id, String(e.attributes.cause ?? e.name)]));
  const failed = new Map<string, string>();
  for (const x of executions) if (!failed.has(x.run)) failed.set(x.run, x.name);
  return {
    rows: shown.map((run) => ({
      id: run.id,
      name: run.name,
      status: run.status,
      createTime: run.createTime,
      cause: run.event ? cause.get(run.event) : undefined,
      firstFailed: failed.get(run.id),
    })),
    deployedAt,
  };
}
