// A directed graph laid out by dagre and drawn by React Flow; used by the DAG, trace and
// lineage views. Nodes carry a class for their status or kind; highlighted nodes stand out.
import dagre from "@dagrejs/dagre";
import { Background, Controls, MarkerType, MiniMap, Position, ReactFlow, type Edge, type Node, type ReactFlowInstance } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useMemo, useRef } from "react";

export interface GraphNode {
  id: string;
  label: string;
  sublabel?: string;
  className?: string;
  position?: { x: number; y: number };
  width?: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  className?: string;
  label?: string;
}

const NODE_W = 190;
const NODE_H = 52;
/** The smallest zoom a graph opens at: node labels (12 px) stay at least 10 px on screen. */
export const READABLE_ZOOM = 0.85;

/**
 * A linear-time layered layout for large graphs, where dagre's crossing minimisation takes
 * seconds: rank by longest path from a source, order each rank by the mean place of its parents.
 */
export function fastLayout(nodes: GraphNode[], edges: GraphEdge[], direction: "LR" | "TB" = "LR"): Map<string, { x: number; y: number }> {
  const ids = new Set(nodes.map((n) => n.id));
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  for (const e of edges) {
    if (!ids.has(e.source) || !ids.has(e.target) || e.source === e.target) continue;
    parents.set(e.target, [...(parents.get(e.target) ?? []), e.source]);
    children.set(e.source, [...(children.get(e.source) ?? []), e.target]);
    indegree.set(e.target, indegree.get(e.target)! + 1);
  }
  const rank = new Map<string, number>();
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  queue.forEach((id) => rank.set(id, 0));
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const c of children.get(id) ?? []) {
      rank.set(c, Math.max(rank.get(c) ?? 0, rank.get(id)! + 1));
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) queue.push(c);
    }
  }
  nodes.forEach((n) => rank.has(n.id) || rank.set(n.id, 0)); // nodes on a cycle
  const ranks: string[][] = [];
  for (const n of nodes) (ranks[rank.get(n.id)!] ??= []).push(n.id);
  // A rank wider than WRAP nodes is folded into several columns, so that a fan-out of a thousand
  // stays a block on screen instead of a line too long to read at any zoom.
  const WRAP = 30;
  const place = new Map<string, number>();
  const out = new Map<string, { x: number; y: number }>();
  let along = 0;
  ranks.forEach((members) => {
    const key = (id: string) => {
      const ps = (parents.get(id) ?? []).filter((p) => place.has(p));
      return ps.length ? ps.reduce((sum, p) => sum + place.get(p)!, 0) / ps.length : 0;
    };
    members.sort((a, b) => key(a) - key(b));
    const rows = Math.min(members.length, WRAP);
    const columns = Math.ceil(members.length / WRAP);
    members.forEach((id, i) => {
      place.set(id, i);
      const column = Math.floor(i / WRAP);
      const across = (i % WRAP) - (rows - 1) / 2;
      out.set(
        id,
        direction === "LR"
          ? { x: along + column * (NODE_W + 20), y: across * (NODE_H + 18) }
          : { x: across * (NODE_W + 20), y: along + column * (NODE_H + 18) },
      );
    });
    along += columns * ((direction === "LR" ? NODE_W : NODE_H) + 20) + 40;
  });
  return out;
}

export function layout(nodes: GraphNode[], edges: GraphEdge[], direction: "LR" | "TB" = "LR"): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: direction, nodesep: 18, ranksep: 60, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width ?? NODE_W, height: NODE_H });
  for (const e of edges) if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  dagre.layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    const p = g.node(n.id);
    out.set(n.id, { x: p.x - (n.width ?? NODE_W) / 2, y: p.y - NODE_H / 2 });
  }
  return out;
}

export function Graph({
  nodes,
  edges,
  selected,
  highlighted,
  onSelect,
  direction = "LR",
  height = "100%",
  focus,
  anchor = "center",
}: {
  nodes: GraphNode[];
  edges: GraphEdge[];
  selected?: string | null;
  highlighted?: Set<string>;
  onSelect?: (id: string | null) => void;
  direction?: "LR" | "TB" | "auto";
  height?: string | number;
  /** a graph too large to fit readably opens at a readable zoom on this node */
  focus?: string;
  /** where the focus sits then: in the middle, or at the right edge (the newest of a trace) */
  anchor?: "center" | "end";
}) {
  const box = useRef<HTMLDivElement>(null);
  // "auto" lays a small graph out both ways and keeps the one that fills a landscape panel best.
  const [positions, flow] = useMemo((): [Map<string, { x: number; y: number }> | null, "LR" | "TB"] => {
    const fixed = direction === "auto" ? "LR" : direction;
    if (nodes.every((n) => n.position)) return [null, fixed];
    if (nodes.length > 400) return [fastLayout(nodes, edges, fixed), fixed];
    if (direction !== "auto") return [layout(nodes, edges, direction), direction];
    const fit = (p: Map<string, { x: number; y: number }>) => {
      const xs = [...p.values()].map((v) => v.x);
      const ys = [...p.values()].map((v) => v.y);
      const w = Math.max(...xs) - Math.min(...xs) + NODE_W;
      const h = Math.max(...ys) - Math.min(...ys) + NODE_H;
      return Math.min(860 / w, 600 / h); // the zoom at which it fits
    };
    const lr = layout(nodes, edges, "LR");
    const tb = layout(nodes, edges, "TB");
    return fit(tb) > fit(lr) * 1.15 ? [tb, "TB"] : [lr, "LR"];
  }, [nodes, edges, direction]);
  const flowNodes: Node[] = useMemo(
    () =>
      nodes.map((n) => ({
        id: n.id,
        position: n.position ?? positions?.get(n.id) ?? { x: 0, y: 0 },
        data: {
          label: (
            <div className="node-body" data-node-id={n.id}>
              <div className="node-label" title={n.label}>
                {n.label}
              </div>
              {n.sublabel && <div className="node-sub">{n.sublabel}</div>}
            </div>
          ),
        },
        className: [
          "gnode",
          n.className,
          n.id === selected ? "selected-node" : "",
          highlighted?.has(n.id) ? "highlighted" : "",
          highlighted && highlighted.size > 0 && !highlighted.has(n.id) && n.id !== selected ? "dimmed" : "",
        ]
          .filter(Boolean)
          .join(" "),
        // Known sizes let the minimap draw nodes that are not rendered (off screen) yet.
        width: n.width ?? NODE_W,
        height: NODE_H,
        style: { width: n.width ?? NODE_W, height: NODE_H },
        sourcePosition: flow === "LR" ? Position.Right : Position.Bottom,
        targetPosition: flow === "LR" ? Position.Left : Position.Top,
        draggable: false,
        connectable: false,
      })),
    [nodes, positions, selected, highlighted, flow],
  );
  const flowEdges: Edge[] = useMemo(
    () =>
      edges.map((e, i) => ({
        id: `e${i}-${e.source}-${e.target}`,
        source: e.source,
        target: e.target,
        className: [e.className, highlighted?.has(e.source) && highlighted?.has(e.target) ? "highlighted" : ""].filter(Boolean).join(" "),
        label: e.label,
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
      })),
    [edges, highlighted],
  );
  // Fit the whole graph when it fits at a readable zoom; otherwise open at a readable zoom on
  // the focus (the minimap shows the whole, and the controls zoom out).
  const onInit = useCallback(
    (flow: ReactFlowInstance) => {
      const el = box.current;
      if (!el || flowNodes.length === 0) return;
      const W = el.clientWidth;
      const H = el.clientHeight;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const n of flowNodes) {
        x0 = Math.min(x0, n.position.x);
        y0 = Math.min(y0, n.position.y);
        x1 = Math.max(x1, n.position.x + (n.width ?? NODE_W));
        y1 = Math.max(y1, n.position.y + NODE_H);
      }
      const fit = Math.min(1.2, (W * 0.92) / (x1 - x0), (H * 0.92) / (y1 - y0));
      if (fit >= READABLE_ZOOM) {
        void flow.fitView({ maxZoom: 1.2, padding: 0.08 });
        return;
      }
      const z = READABLE_ZOOM;
      const f = flowNodes.find((n) => n.id === focus) ?? flowNodes[0];
      const fx = f.position.x;
      const fy = f.position.y;
      const fw = f.width ?? NODE_W;
      const x = anchor === "end" ? W - 24 - (fx + fw) * z : W / 2 - (fx + fw / 2) * z;
      // A graph drawn top to bottom shows its top; one drawn left to right the focus's row.
      const y = anchor === "end" || (y1 - y0) * z <= H ? 24 - y0 * z : H / 2 - (fy + NODE_H / 2) * z;
      void flow.setViewport({ x, y, zoom: z });
    },
    // The viewport is chosen once, when the graph first appears.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [],
  );
  return (
    <div className="graph" style={{ height }} ref={box}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        onInit={onInit}
        minZoom={0.05}
        onlyRenderVisibleElements={nodes.length > 300}
        nodesConnectable={false}
        onNodeClick={(_, node) => onSelect?.(node.id)}
        onPaneClick={() => onSelect?.(null)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
        {nodes.length > 30 && <MiniMap pannable zoomable />}
      </ReactFlow>
    </div>
  );
}
