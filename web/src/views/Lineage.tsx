// FR4/FR5: upstream and downstream of any artifact; depth control, expand on click, collapse,
// search within the graph. The server sends the nodes nearest to the root first, so that a
// lineage of thousands opens as fast as a small one; nodes it left out are brought in on click.
import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError } from "../api/client";
import { Graph } from "../components/Graph";
import { Loading, Problem } from "../components/Status";
import { MAX_DEPTH, MAX_MATCH, MAX_NODES, lineage, type LEdge, type LGraph, type LNode } from "../lineage";
import { useTitle } from "../context";
import { navigate, withQuery, type Location } from "../router";
import { ArtifactPanel, Legend, toGraph } from "./RunDag";

/** The nodes asked for first, and then at each expansion: enough to read, quick to draw. */
const FIRST_NODES = 150;

function merge(a: LGraph, b: LGraph): LGraph {
  const nodes = new Map(a.nodes.map((n) => [n.id, n]));
  b.nodes.forEach((n) => {
    const had = nodes.get(n.id);
    // What either answer sent is here now: what is left out is at most what each left out.
    const more = had && had.more !== undefined && n.more !== undefined ? Math.min(had.more, n.more) : had ? undefined : n.more;
    nodes.set(n.id, { ...n, more: more || undefined });
  });
  const edges = new Map(a.edges.map((e) => [`${e.source}>${e.target}`, e]));
  b.edges.forEach((e) => edges.set(`${e.source}>${e.target}`, e));
  const all = [...nodes.values()];
  return { nodes: all, edges: [...edges.values()], truncated: a.truncated || b.truncated, limited: all.some((n) => n.more), matched: a.matched };
}

/** Nodes reachable from the root away from it, not passing beyond collapsed nodes. */
function visible(graph: LGraph, root: string, upstream: boolean, collapsed: Set<string>): { shown: Set<string>; hidden: Map<string, number> } {
  const away = new Map<string, string[]>();
  graph.edges.forEach((e: LEdge) => {
    const [from, to] = upstream ? [e.target, e.source] : [e.source, e.target];
    away.set(from, [...(away.get(from) ?? []), to]);
  });
  const shown = new Set([root]);
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (collapsed.has(n) && n !== root) continue;
    for (const m of away.get(n) ?? []) if (!shown.has(m)) (shown.add(m), stack.push(m));
  }
  const hidden = new Map<string, number>();
  for (const c of collapsed) {
    const below = new Set<string>();
    const st = [c];
    while (st.length) for (const m of away.get(st.pop()!) ?? []) if (!below.has(m)) (below.add(m), st.push(m));
    hidden.set(c, [...below].filter((n) => !shown.has(n)).length);
  }
  return { shown, hidden };
}

/** The depth is asked for once the typing stops (or on Enter), not at every keystroke. */
function DepthInput({ depth, onChange }: { depth: number; onChange: (depth: number) => void }) {
  const [text, setText] = useState(String(depth));
  useEffect(() => setText(String(depth)), [depth]);
  const wanted = Number(text);
  const valid = Number.isInteger(wanted) && wanted >= 1;
  useEffect(() => {
    if (!valid || wanted === depth) return;
    const t = window.setTimeout(() => onChange(wanted), 600);
    return () => window.clearTimeout(t);
  }, [text]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <form
      className="inline"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid && wanted !== depth) onChange(wanted);
      }}
    >
      <label>
        depth <input type="number" min={1} value={text} aria-label="depth" aria-invalid={!valid} onChange={(e) => setText(e.target.value)} />
      </label>
    </form>
  );
}

export function Lineage({ id, location }: { id: string; location: Location }) {
  const direction = location.query.get("direction") === "downstream" ? "downstream" : "upstream";
  const depth = Math.max(1, Math.min(MAX_DEPTH, Number(location.query.get("depth") ?? 3) || 3));
  const selected = location.query.get("select");
  const search = location.query.get("q") ?? "";
  const [graph, setGraph] = useState<LGraph | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  // node -> the budget its last expansion asked for; the next one asks for twice as many
  const [expanded, setExpanded] = useState<Map<string, number>>(new Map());
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  // A search reaches past what is loaded: the server sends the matches the budget left out,
  // with their way from the root. What it said: the search, and how many nodes hold it.
  const [reached, setReached] = useState<{ q: string; matched: number } | null>(null);
  const asked = useRef<string | null>(null);

  useEffect(() => {
    let live = true;
    setGraph(null);
    setError(null);
    setBusy(true);
    setExpanded(new Map([[id, FIRST_NODES]]));
    setCollapsed(new Set());
    setReached(null);
    asked.current = null;
    lineage(id, direction, depth, FIRST_NODES).then(
      (g) => {
        // Lets benchmarks/ui_render.py and ui_graphs.py tell fetching from layout and drawing.
        performance.mark("modeltrail:graph-fetched");
        if (live) (setGraph(g), setBusy(false));
      },
      (e) => live && (setError(e instanceof ApiError ? e : new ApiError(0, { detail: String(e) })), setBusy(false)),
    );
    return () => {
      live = false;
    };
  }, [id, direction, depth]);

  // Once the typing stops, a search the loaded nodes may not hold all of is asked of the server.
  const wanted = search.trim().toLowerCase();
  const partial = Boolean(graph?.limited);
  useEffect(() => {
    if (!wanted || !partial || asked.current === wanted) return;
    let live = true;
    let done = false;
    const t = window.setTimeout(() => {
      asked.current = wanted;
      setBusy(true);
      lineage(id, direction, depth, FIRST_NODES, "artifacts", wanted)
        .then(
          (found) => {
            if (!live) return;
            setGraph((g) => (g ? merge(g, found) : found));
            setReached({ q: wanted, matched: found.matched ?? 0 });
          },
          (e) => live && setError(e instanceof ApiError ? e : new ApiError(0, { detail: String(e) })),
        )
        .finally(() => ((done = true), setBusy(false)));
    }, 400);
    return () => {
      live = false;
      window.clearTimeout(t);
      // A search left before its answer came is asked again when it is typed again.
      if (!done && asked.current === wanted) asked.current = null;
    };
  }, [wanted, partial, id, direction, depth]); // eslint-disable-line react-hooks/exhaustive-deps

  /** One step further from a node, the nearest first: more of them each time it is asked. */
  const expand = async (node: LNode) => {
    const budget = Math.min(MAX_NODES, expanded.has(node.id) ? expanded.get(node.id)! * 2 : FIRST_NODES);
    setExpanded((s) => new Map(s).set(node.id, budget));
    setBusy(true);
    try {
      const more = await lineage(node.id, direction, 1, budget, node.type === "execution" ? "executions" : "artifacts");
      setGraph((g) => (g ? merge(g, more) : more));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, { detail: String(e) }));
    } finally {
      setBusy(false);
    }
  };

  const view = useMemo(() => {
    if (!graph) return null;
    const { shown, hidden } = visible(graph, id, direction === "upstream", collapsed);
    const nodes = graph.nodes.filter((n) => shown.has(n.id));
    const edges = graph.edges.filter((e) => shown.has(e.source) && shown.has(e.target));
    const g = toGraph({ ...graph, nodes, edges });
    const more = new Map(nodes.filter((n) => n.more).map((n) => [n.id, n.more!]));
    g.nodes.forEach((n) => {
      if (n.id === id) n.className += " root";
      if (collapsed.has(n.id)) n.note = `+${(hidden.get(n.id) ?? 0).toLocaleString("en")} hidden`;
      else if (more.has(n.id)) (n.note = `+${more.get(n.id)!.toLocaleString("en")} more`), (n.className += " has-more");
    });
    const q = search.trim().toLowerCase();
    const matches = new Set(q ? nodes.filter((n: LNode) => `${n.name} ${n.kind ?? ""}`.toLowerCase().includes(q)).map((n) => n.id) : []);
    // The nodes in hand and those the answers said they left out: what the lineage holds at least.
    const leftOut = graph.nodes.reduce((sum, n) => sum + (n.more ?? 0), 0);
    return { ...g, matches, total: graph.nodes.length + leftOut, leftOut };
  }, [graph, id, direction, collapsed, search]);

  // The match shown: a search moves the view to its first; next and previous step through them
  // in the order they are read on screen.
  const [hit, setHit] = useState(0);
  useEffect(() => setHit(0), [search]);
  const found = useMemo(() => [...(view?.matches ?? [])], [view]);
  const at = found.length ? ((hit % found.length) + found.length) % found.length : 0;
  const step = (by: number) => setHit(at + by);

  const selectedNode = graph?.nodes.find((n) => n.id === selected);
  const rootName = graph?.nodes.find((n) => n.id === id)?.name;
  useTitle(rootName, `${direction} lineage`);
  const set = (changes: Record<string, string | null>) => navigate(withQuery(changes), true);

  return (
    <section className="view split graph-view">
      <div className="main">
        <header className="view-head">
          <h1>Lineage {direction === "upstream" ? "upstream of" : "downstream of"} {graph?.nodes.find((n) => n.id === id)?.name ?? "artifact"}</h1>
          <div className="toolbar">
            <div className="segmented" role="group" aria-label="direction">
              {(["upstream", "downstream"] as const).map((d) => (
                <button key={d} aria-pressed={direction === d} onClick={() => navigate(withQuery({ direction: d, select: null }))}>
                  {d}
                </button>
              ))}
            </div>
            <DepthInput depth={depth} onChange={(d) => navigate(withQuery({ depth: String(d) }), true)} />
            <span className="search-steps">
              <input
                type="search"
                placeholder="search in the graph"
                aria-label="search in the graph"
                maxLength={MAX_MATCH}
                title="Enter: next match · Shift+Enter: previous"
                value={search}
                onChange={(e) => set({ q: e.target.value || null })}
                onKeyDown={(e) => e.key === "Enter" && (e.preventDefault(), step(e.shiftKey ? -1 : 1))}
              />
              {search.trim() && (
                <>
                  <button type="button" aria-label="previous match" disabled={found.length < 2} onClick={() => step(-1)}>
                    ‹
                  </button>
                  <button type="button" aria-label="next match" disabled={found.length < 2} onClick={() => step(1)}>
                    ›
                  </button>
                  <span className="muted" data-testid="match-count" aria-live="polite">
                    {found.length ? `${at + 1} of ${found.length}` : busy ? "searching…" : "no match"}
                    {reached?.q === wanted && reached.matched > found.length ? ` · ${reached.matched.toLocaleString("en")} in the lineage, the nearest shown` : ""}
                  </span>
                </>
              )}
            </span>
            {view && (
              <span className="muted">
                {view.nodes.length.toLocaleString("en")} of {view.leftOut ? "at least " : ""}{view.total.toLocaleString("en")} nodes shown{view.matches.size ? ` · ${view.matches.size} match` : ""}
                {graph?.limited ? " · the nearest first: a node marked “+N more” leads to more, click it to bring them in" : ""}
                {graph?.truncated
                  ? depth < MAX_DEPTH
                    ? ` · cut off at depth ${depth}: raise the depth or expand nodes`
                    : ` · cut off at depth ${depth}, the deepest the server follows: expand nodes or explore from one`
                  : ""}
                {busy ? " · loading…" : ""}
              </span>
            )}
            {collapsed.size > 0 && <button onClick={() => setCollapsed(new Set())}>expand all</button>}
          </div>
          <Legend more={graph?.limited} />
        </header>
        {error && <Problem error={error} />}
        {!graph && busy && <Loading what="Following the lineage" />}
        {view && (
          <Graph
            nodes={view.nodes}
            edges={view.edges}
            selected={selected}
            highlighted={view.matches.size ? view.matches : undefined}
            onSelect={(n) => {
              set({ select: n });
              const node = graph?.nodes.find((x) => x.id === n);
              // "+N more: click to bring in", the root's too: each click brings in more of them.
              if (node?.more && !busy) void expand(node);
            }}
            direction="auto"
            focus={id}
            centre={found.length ? at : undefined}
          />
        )}
      </div>
      <aside className="panel" aria-label="details">
        {selectedNode && (selectedNode.id !== id || selectedNode.more) && (
          <div className="toolbar">
            {selectedNode.id !== id && (
              <button
                onClick={() =>
                  setCollapsed((s) => {
                    const next = new Set(s);
                    if (next.has(selectedNode.id)) next.delete(selectedNode.id);
                    else next.add(selectedNode.id);
                    return next;
                  })
                }
              >
                {collapsed.has(selectedNode.id) ? "expand this branch" : "collapse this branch"}
              </button>
            )}
            {selectedNode.more && !collapsed.has(selectedNode.id) ? (
              <button disabled={busy} onClick={() => void expand(selectedNode)}>
                bring in more ({selectedNode.more.toLocaleString("en")} left out)
              </button>
            ) : null}
            {selectedNode.type === "artifact" && selectedNode.id !== id && <button onClick={() => navigate(`/artifacts/${selectedNode.id}/lineage?direction=${direction}`)}>explore from here</button>}
          </div>
        )}
        {selectedNode?.type === "artifact" ? (
          <ArtifactPanel id={selectedNode.id} />
        ) : selectedNode ? (
          <div className="details">
            <h2>{selectedNode.name}</h2>
            <p className="muted">
              step ({selectedNode.kind}) · {selectedNode.status}
              {selectedNode.runName ? ` · run ${selectedNode.runName}` : ""}
            </p>
          </div>
        ) : (
          <div className="state empty">Click a node marked “+N more” to select it and follow its lineage one step further.</div>
        )}
      </aside>
    </section>
  );
}
