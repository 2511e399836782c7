// A directed graph laid out by dagre and drawn by React Flow; used by the DAG, trace and
// lineage views. Nodes carry a class for their status or kind; highlighted nodes stand out.
import dagre from "@dagrejs/dagre";
import { Background, ControlButton, Controls, MarkerType, Panel, Position, ReactFlow, useReactFlow, useStore, useViewport, type Edge, type Node, type ReactFlowInstance, type Viewport } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { Bundles, fans as fansOf } from "./Bundles";

export interface GraphNode {
  id: string;
  label: string;
  /** what tells the node from others of its label (a step's run, an artifact's version): beside the label, cut after it */
  tag?: string;
  sublabel?: string;
  /** what the node measures or holds ("0.758", "26 classes"): kept whole after the sublabel, which is cut first */
  value?: string;
  /** what the node leads to that is not drawn ("+1,830 more"): kept whole where the sublabel is cut */
  note?: string;
  className?: string;
  position?: { x: number; y: number };
  width?: number;
  /** what the node is, to a reader ("model", "step"): a node's edges to or from many of one kind are drawn as one */
  kind?: string;
  /** the node's tooltip: all that its label and sublabel say in full (default: its label, tag, sublabel, value and note) */
  title?: string;
  /** lines under the label, each wrapped (a run head's changes), in place of the sublabel's one */
  lines?: { text: string; className?: string }[];
  /** its height, for a node that says more than a label and a sublabel (default NODE_H) */
  height?: number;
}

export interface GraphEdge {
  source: string;
  target: string;
  className?: string;
  label?: string;
  /** what the edge is ("input", "reference"): fan-outs and fan-ins are grouped by it */
  kind?: string;
}

const NODE_W = 190;
/**
 * The gap between the columns of a left-to-right graph: room for a grouped edge's count
 * ("1,000 × step") between a node and the bar its edges fan out from, beside both.
 */
const RANK_GAP_LR = 110;
const NODE_H = 52;
/**
 * The smallest zoom a graph opens or is fitted at: node labels (12 px) stay at least 10 px on
 * screen. Zooming out further is the reader's choice (the overview shows the whole).
 */
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
    along += columns * ((direction === "LR" ? NODE_W : NODE_H) + 20) + (direction === "LR" ? RANK_GAP_LR - 20 : 40);
  });
  return out;
}

export function layout(nodes: GraphNode[], edges: GraphEdge[], direction: "LR" | "TB" = "LR"): Map<string, { x: number; y: number }> {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: direction, nodesep: 18, ranksep: direction === "LR" ? RANK_GAP_LR : 60, marginx: 10, marginy: 10 });
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

/**
 * Past this many nodes React Flow is handed only the nodes near the viewport: its own work per
 * node (and its minimap's) would otherwise hold up the first paint of a large trace by seconds.
 */
const WINDOW_FROM = 400;

type Box = { x0: number; y0: number; x1: number; y1: number };

function bounds(nodes: Node[]): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const n of nodes) {
    x0 = Math.min(x0, n.position.x);
    y0 = Math.min(y0, n.position.y);
    x1 = Math.max(x1, n.position.x + (n.width ?? NODE_W));
    y1 = Math.max(y1, n.position.y + (n.height ?? NODE_H));
  }
  return { x0, y0, x1, y1 };
}

/** The zoom at which the whole graph fills the pane (at most 1.2). */
function fitZoom(nodes: Node[], W: number, H: number): number {
  const { x0, y0, x1, y1 } = bounds(nodes);
  return Math.min(1.2, (W * 0.92) / (x1 - x0), (H * 0.92) / (y1 - y0));
}

/**
 * The viewport a graph opens at, and the one "fit view" goes to: all of it when that is
 * readable, else readable on the focus. Past either end of the graph is never shown while the
 * other end is cut: a graph taller (wider) than the pane starts at its top (left) edge at the
 * most, and one that is not is centred (but for a trace's height: it starts at the top).
 */
function opening(nodes: Node[], W: number, H: number, focus: string | undefined, anchor: "center" | "end"): Viewport {
  const { x0, y0, x1, y1 } = bounds(nodes);
  const fit = fitZoom(nodes, W, H);
  if (fit >= READABLE_ZOOM) return { x: (W - (x1 - x0) * fit) / 2 - x0 * fit, y: (H - (y1 - y0) * fit) / 2 - y0 * fit, zoom: fit };
  const z = READABLE_ZOOM;
  const f = nodes.find((n) => n.id === focus) ?? nodes[0];
  const fw = f.width ?? NODE_W;
  const place = (lo: number, hi: number, size: number, wanted: number) =>
    (hi - lo) * z + 2 * EDGE <= size ? (size - (hi - lo) * z) / 2 - lo * z : Math.min(EDGE - lo * z, Math.max(size - EDGE - hi * z, wanted));
  // The focus in the middle, or at the right edge (the newest runs of a trace, from the top).
  const x = place(x0, x1, W, anchor === "end" ? W - EDGE - (f.position.x + fw) * z : W / 2 - (f.position.x + fw / 2) * z);
  // A trace reads from its run heads down: it starts at the top, however short it is.
  const y = anchor === "end" ? EDGE - y0 * z : place(y0, y1, H, H / 2 - (f.position.y + (f.height ?? NODE_H) / 2) * z);
  return { x, y, zoom: z };
}

/** The margin between a graph cut by the pane and the pane's edge it starts at. */
const EDGE = 24;

/** The node a graph opens on when none is asked for: the first that nothing leads to. */
function root(nodes: GraphNode[], edges: GraphEdge[]): string | undefined {
  const led = new Set(edges.map((e) => e.target));
  return (nodes.find((n) => !led.has(n.id)) ?? nodes[0])?.id;
}

/** The nodes within a screen of the viewport, and the far ends of their edges (a few). */
function windowed(nodes: Node[], edges: Edge[], view: Viewport, W: number, H: number): Node[] {
  const x0 = (-view.x - W) / view.zoom;
  const x1 = (-view.x + 2 * W) / view.zoom;
  const y0 = (-view.y - H) / view.zoom;
  const y1 = (-view.y + 2 * H) / view.zoom;
  const near = new Set<string>();
  for (const n of nodes) {
    const { x, y } = n.position;
    if (x + (n.width ?? NODE_W) >= x0 && x <= x1 && y + (n.height ?? NODE_H) >= y0 && y <= y1) near.add(n.id);
  }
  const ends = new Set<string>();
  for (const e of edges) {
    if (near.has(e.source) !== near.has(e.target)) ends.add(near.has(e.source) ? e.target : e.source);
    if (ends.size > 200) break;
  }
  return nodes.filter((n) => near.has(n.id) || ends.has(n.id));
}

/**
 * An overview of the whole graph: every node as a mark, the viewport as a frame; a click or a
 * drag moves the view. React Flow's minimap is not used: it shows only the nodes handed to it (a
 * windowed graph's window), and it keeps its own box's shape, so that a wide graph (a trace: runs
 * side by side) is a hairline in it, its nodes under a pixel tall.
 */
function Overview({ nodes, box, onMove }: { nodes: Node[]; box: Box; onMove: (v: Viewport) => void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const flow = useReactFlow();
  const view = useViewport();
  const wide = box.x1 - box.x0;
  const tall = box.y1 - box.y0;
  // The overview takes the graph's shape within 240 x 140 pixels, never thinner than 28.
  const W = Math.max(28, Math.min(240, Math.round((140 * wide) / tall)));
  const H = Math.max(28, Math.min(140, Math.round((W * tall) / wide)));
  const sx = W / wide;
  const sy = H / tall;
  useEffect(() => {
    const ctx = canvas.current?.getContext("2d");
    if (!ctx) return;
    // Drawn at the screen's pixel density, so that marks a pixel wide stay sharp.
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = getComputedStyle(canvas.current!).color;
    for (const n of nodes) ctx.fillRect((n.position.x - box.x0) * sx, (n.position.y - box.y0) * sy, Math.max(1, (n.width ?? NODE_W) * sx), Math.max(1.5, (n.height ?? NODE_H) * sy));
  }, [nodes, box, W, H, sx, sy]);
  const screenW = useStore((st) => st.width);
  const screenH = useStore((st) => st.height);
  const frame = {
    left: (-view.x / view.zoom - box.x0) * sx,
    top: (-view.y / view.zoom - box.y0) * sy,
    width: Math.max(3, (screenW / view.zoom) * sx),
    height: Math.max(3, (screenH / view.zoom) * sy),
  };
  const move = (e: React.PointerEvent<HTMLDivElement>) => {
    if (e.type === "pointermove" && !(e.buttons & 1)) return;
    const r = e.currentTarget.getBoundingClientRect();
    // A few pixels from an end of the overview are that end (a pixel is many nodes across).
    const px = e.clientX - r.left < 6 ? 0 : r.right - e.clientX < 6 ? W : e.clientX - r.left;
    const fx = box.x0 + px / sx;
    const fy = box.y0 + (e.clientY - r.top) / sy;
    // A wide graph (a trace: runs side by side) keeps its rows where they are: only x moves.
    const y = wide > tall * 3 ? view.y : screenH / 2 - fy * view.zoom;
    // The point goes where it is across the overview (an end to that end of the screen), but
    // the view never moves past either end of the graph.
    const across = px / W;
    const x = Math.min(24 - box.x0 * view.zoom, Math.max(screenW - 24 - box.x1 * view.zoom, across * screenW - fx * view.zoom));
    const to = { x, y, zoom: view.zoom };
    void flow.setViewport(to);
    onMove(to); // a move made here is not the pane's, so the pane does not report it

  };
  return (
    <Panel position="bottom-right">
      <div className="overview" style={{ width: W, height: H }} onPointerDown={move} onPointerMove={move} role="img" aria-label="overview of the whole graph: click or drag to move the view">
        <canvas ref={canvas} width={Math.round(W * (window.devicePixelRatio || 1))} height={Math.round(H * (window.devicePixelRatio || 1))} style={{ width: W, height: H }} />
        <div className="overview-frame" style={frame} />
      </div>
    </Panel>
  );
}

/** React Flow's "fit view", but never below the readable zoom: past it, the view the graph opened at. */
function FitButton({ nodes, focus, anchor, onMove }: { nodes: Node[]; focus?: string; anchor: "center" | "end"; onMove: (v: Viewport) => void }) {
  const flow = useReactFlow();
  const W = useStore((st) => st.width);
  const H = useStore((st) => st.height);
  const fit = () => {
    if (!nodes.length) return;
    const to = opening(nodes, W, H, focus, anchor);
    void flow.setViewport(to, { duration: 200 });
    onMove(to); // not the pane's move: the pane does not report it
  };
  return (
    <ControlButton className="react-flow__controls-fitview" onClick={fit} title="fit view (at a readable zoom)" aria-label="Fit View">
      <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 30" aria-hidden="true">
        <path d="M3.692 4.63c0-.53.4-.938.939-.938h5.215V0H4.708C2.13 0 0 2.054 0 4.63v5.216h3.692V4.631zM27.354 0h-5.2v3.692h5.17c.53 0 .984.4.984.939v5.215H32V4.631A4.624 4.624 0 0027.354 0zm.954 24.83c0 .532-.4.94-.939.94h-5.215v3.768h5.215c2.577 0 4.631-2.13 4.631-4.707v-5.139h-3.692v5.139zm-23.677.94c-.531 0-.939-.4-.939-.94v-5.138H0v5.139c0 2.577 2.13 4.707 4.708 4.707h5.138V25.77H4.631z" />
      </svg>
    </ControlButton>
  );
}

/** Moves the view to centre a node, at a readable zoom at least, each time it is another node. */
function PanTo({ node, nodes, onMove }: { node?: string; nodes: Node[]; onMove: (v: Viewport) => void }) {
  const flow = useReactFlow();
  const W = useStore((st) => st.width);
  const H = useStore((st) => st.height);
  useEffect(() => {
    const n = node === undefined ? undefined : nodes.find((x) => x.id === node);
    if (!n || !W || !H) return;
    const zoom = Math.max(READABLE_ZOOM, flow.getZoom());
    const to = { x: W / 2 - (n.position.x + (n.width ?? NODE_W) / 2) * zoom, y: H / 2 - (n.position.y + (n.height ?? NODE_H) / 2) * zoom, zoom };
    void flow.setViewport(to, { duration: 250 });
    onMove(to); // not the pane's move: the pane does not report it
  }, [node, W, H]); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}

/**
 * Keeps a node where it is on screen when the graph around it is laid out again (a lineage
 * that brought in more nodes): the node the reader clicked does not jump out of the view.
 */
function KeepInPlace({ node, nodes, onMove }: { node?: string | null; nodes: Node[]; onMove: (v: Viewport) => void }) {
  const flow = useReactFlow();
  const W = useStore((st) => st.width);
  const H = useStore((st) => st.height);
  const was = useRef<{ id: string; x: number; y: number } | null>(null);
  useEffect(() => {
    const n = node ? nodes.find((x) => x.id === node) : undefined;
    const before = was.current;
    was.current = n ? { id: n.id, x: n.position.x, y: n.position.y } : null;
    if (!n || !before || before.id !== n.id || (before.x === n.position.x && before.y === n.position.y)) return;
    const v = flow.getViewport();
    // A graph that still fits at a readable zoom is shown whole, as it opened; a larger one
    // moves so that the node stays where it was.
    const to = W && H && fitZoom(nodes, W, H) >= READABLE_ZOOM ? opening(nodes, W, H, n.id, "center") : { x: v.x - (n.position.x - before.x) * v.zoom, y: v.y - (n.position.y - before.y) * v.zoom, zoom: v.zoom };
    void flow.setViewport(to);
    onMove(to); // not the pane's move: the pane does not report it
  }, [nodes]); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}

export function Graph({
  nodes,
  edges,
  selected,
  centre,
  highlighted,
  onSelect,
  direction = "LR",
  height,
  focus,
  anchor = "center",
}: {
  /**
   * which of the highlighted nodes (a search's matches), in reading order (top to bottom, then
   * left to right), to show in the middle, marked: the view moves to it whenever it changes
   */
  centre?: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  selected?: string | null;
  highlighted?: Set<string>;
  onSelect?: (id: string | null) => void;
  direction?: "LR" | "TB" | "auto";
  /** left out: as tall as its container makes it (`.graph-view` fills the window with it) */
  height?: string | number;
  /** a graph too large to fit readably opens at a readable zoom on this node (default: a root) */
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
  // Lets benchmarks/ui_graphs.py tell layout from fetching and drawing.
  if (!performance.getEntriesByName("modeltrail:graph-laid-out").length) performance.mark("modeltrail:graph-laid-out");
  const centred = useMemo(() => {
    if (centre === undefined || !highlighted?.size) return undefined;
    const at = (n: GraphNode) => n.position ?? positions?.get(n.id) ?? { x: 0, y: 0 };
    const order = nodes.filter((n) => highlighted.has(n.id)).sort((a, b) => at(a).y - at(b).y || at(a).x - at(b).x);
    return order[((centre % order.length) + order.length) % order.length]?.id;
  }, [centre, highlighted, nodes, positions]);
  const flowNodes: Node[] = useMemo(
    () =>
      nodes.map((n) => ({
        id: n.id,
        position: n.position ?? positions?.get(n.id) ?? { x: 0, y: 0 },
        data: {
          label: (
            <div className="node-body" data-node-id={n.id} title={n.title ?? [[n.label, n.tag].filter(Boolean).join(" · "), [[n.sublabel, n.value].filter(Boolean).join(" "), n.note].filter(Boolean).join(" · ")].filter(Boolean).join("\n")}>
              {n.tag ? (
                <div className="node-head">
                  <div className="node-label">{n.label}</div>
                  <span className="node-tag">{n.tag}</span>
                </div>
              ) : (
                <div className="node-label">{n.label}</div>
              )}
              {n.lines?.map((l, i) => (
                <div key={i} className={["node-line", l.className].filter(Boolean).join(" ")}>
                  {l.text}
                </div>
              ))}
              {!n.lines && (n.sublabel || n.value || n.note) && (
                <div className="node-sub">
                  {n.sublabel && <span className="node-sub-text">{n.sublabel}</span>}
                  {n.value && <span className="node-value">{n.value}</span>}
                  {n.note && <span className="node-note">{n.sublabel || n.value ? "· " : ""}{n.note}</span>}
                </div>
              )}
            </div>
          ),
        },
        className: [
          "gnode",
          n.className,
          n.id === selected ? "selected-node" : "",
          n.id === centred ? "centred" : "",
          highlighted?.has(n.id) ? "highlighted" : "",
          highlighted && highlighted.size > 0 && !highlighted.has(n.id) && n.id !== selected ? "dimmed" : "",
        ]
          .filter(Boolean)
          .join(" "),
        // Known sizes let the minimap draw nodes that are not rendered (off screen) yet.
        width: n.width ?? NODE_W,
        height: n.height ?? NODE_H,
        style: { width: n.width ?? NODE_W, height: n.height ?? NODE_H },
        sourcePosition: flow === "LR" ? Position.Right : Position.Bottom,
        targetPosition: flow === "LR" ? Position.Left : Position.Top,
        draggable: false,
        connectable: false,
      })),
    [nodes, positions, selected, highlighted, flow, centred],
  );
  // Fan-outs and fan-ins are drawn as one edge each, until a click on one's count draws its edges again.
  const fans = useMemo(() => {
    const kinds = new Map(nodes.map((n) => [n.id, n.kind]));
    return fansOf(edges, (id) => kinds.get(id));
  }, [nodes, edges]);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = useCallback(
    (key: string) =>
      setOpen((was) => {
        const now = new Set(was);
        if (!now.delete(key)) now.add(key);
        return now;
      }),
    [],
  );
  const placed = useMemo(() => new Map(flowNodes.map((n) => [n.id, n])), [flowNodes]);
  const flowEdges: Edge[] = useMemo(
    () =>
      edges.flatMap((e, i) => (fans.of[i] !== undefined && !open.has(fans.of[i]) ? [] : [{
        id: `e${i}-${e.source}-${e.target}`,
        source: e.source,
        target: e.target,
        className: [e.className, highlighted?.has(e.source) && highlighted?.has(e.target) ? "highlighted" : ""].filter(Boolean).join(" "),
        label: e.label,
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
      }])),
    [edges, highlighted, fans, open],
  );
  // Fit the whole graph when it fits at a readable zoom; otherwise open at a readable zoom on
  // the focus (the minimap shows the whole, and the controls zoom out).
  const large = flowNodes.length > WINDOW_FROM;
  const [size, setSize] = useState<{ W: number; H: number } | null>(null);
  useLayoutEffect(() => {
    if (box.current) setSize({ W: box.current.clientWidth, H: box.current.clientHeight });
  }, []);
  const target = focus ?? root(nodes, edges);
  const start = useMemo(() => (size && flowNodes.length ? opening(flowNodes, size.W, size.H, target, anchor) : null), [size]); // eslint-disable-line react-hooks/exhaustive-deps
  const [view, setView] = useState<Viewport | null>(null);
  const whole = useMemo(() => (flowNodes.length > 30 ? bounds(flowNodes) : null), [flowNodes]);
  const shown = useMemo(() => {
    if (!large) return flowNodes;
    const at = view ?? start;
    return size && at ? windowed(flowNodes, flowEdges, at, size.W, size.H) : [];
  }, [large, flowNodes, flowEdges, view, start, size]);
  const shownEdges = useMemo(() => {
    if (!large) return flowEdges;
    const ids = new Set(shown.map((n) => n.id));
    return flowEdges.filter((e) => ids.has(e.source) && ids.has(e.target));
  }, [large, shown, flowEdges]);
  const onInit = useCallback(
    (flow: ReactFlowInstance) => {
      if (start) void flow.setViewport(start);
    },
    // The viewport is chosen once, when the graph first appears.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [start],
  );
  return (
    <div className="graph" style={height === undefined ? undefined : { height }} ref={box}>
      {start && (
        <ReactFlow
          nodes={shown}
          edges={shownEdges}
          onInit={onInit}
          defaultViewport={start}
          onMoveEnd={large ? (_, v) => setView(v) : undefined}
          minZoom={0.05}
          onlyRenderVisibleElements={nodes.length > 300}
          nodesConnectable={false}
          onNodeClick={(_, node) => onSelect?.(node.id)}
          onPaneClick={() => onSelect?.(null)}
          proOptions={{ hideAttribution: true }}
          // The app follows the system's light or dark scheme (styles.css); React Flow's own
          // chrome (controls, their hover, handles, selection) must follow it too.
          colorMode="system"
        >
          <Background />
          {fans.bundles.length > 0 && (
            <Bundles bundles={fans.bundles} nodes={placed} flow={flow} open={open} onToggle={toggle} lit={(id) => id === selected || Boolean(highlighted?.has(id))} />
          )}
          <Controls showInteractive={false} showFitView={false}>
            <FitButton nodes={flowNodes} focus={target} anchor={anchor} onMove={setView} />
          </Controls>
          {whole && <Overview nodes={flowNodes} box={whole} onMove={setView} />}
          <PanTo node={centred} nodes={flowNodes} onMove={setView} />
          {/* A search's match, once there is one, is where the view goes instead. */}
          <KeepInPlace node={centred ? null : (selected ?? target)} nodes={flowNodes} onMove={setView} />
        </ReactFlow>
      )}
    </div>
  );
}
