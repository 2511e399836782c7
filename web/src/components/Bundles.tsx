// Fans drawn as one edge: a node's edges to many nodes of one kind (a dataset read by the steps
// of a thousand runs) or from many nodes of one kind (the models of a sweep compared by one step)
// would be a fan of lines over each other. A fan-out is drawn as one trunk to a bar along the
// near side of those nodes, a tick to each; a fan-in as a tick from each to a bar along their far
// side, one trunk from it to the node they meet in. Both carry their count; a click on it draws
// the edges one by one again.
import { EdgeLabelRenderer, useStore, useViewport, type Node } from "@xyflow/react";
import { useLayoutEffect, useMemo, useState } from "react";

/** A node's edges to (or from) at least this many nodes of one kind are drawn as one. */
export const BUNDLE_FROM = 20;

export interface Bundle {
  key: string;
  /** "out": from `end` to each member; "in": from each member into `end` */
  direction: "out" | "in";
  /** the one node of the fan: its source, or its target */
  end: string;
  /** what the nodes at the far end are, to a reader: "model", "step" */
  kind: string;
  className?: string;
  /** the nodes at the other end, each once */
  members: string[];
}

type FanEdge = { source: string; target: string; kind?: string; className?: string };

/**
 * The fans of a graph: each node's edges of one kind (read, written, refers to) to, or from,
 * `BUNDLE_FROM` or more nodes of one kind; `of[i]` is the key of the bundle edge `i` is in. An
 * edge in a fan-out is not also in a fan-in.
 */
export function fans(edges: FanEdge[], kindOf: (id: string) => string | undefined): { bundles: Bundle[]; of: (string | undefined)[] } {
  const of: (string | undefined)[] = new Array(edges.length);
  const bundles: Bundle[] = [];
  const group = (direction: "out" | "in") => {
    const groups = new Map<string, { end: string; kind: string; className?: string; members: Set<string>; edges: number[] }>();
    edges.forEach((e, i) => {
      const [end, other] = direction === "out" ? [e.source, e.target] : [e.target, e.source];
      const kind = kindOf(other);
      if (kind === undefined || e.source === e.target || of[i] !== undefined) return;
      const key = `${end}${direction === "out" ? ">" : "<"}${e.kind ?? ""}${direction === "out" ? ">" : "<"}${kind}`;
      const g = groups.get(key) ?? { end, kind, className: e.className, members: new Set<string>(), edges: [] };
      g.members.add(other);
      g.edges.push(i);
      groups.set(key, g);
    });
    for (const [key, g] of groups) {
      if (g.members.size < BUNDLE_FROM) continue;
      bundles.push({ key, direction, end: g.end, kind: g.kind, className: g.className, members: [...g.members] });
      for (const i of g.edges) of[i] = key;
    }
  };
  group("out");
  group("in");
  return { bundles, of };
}

type Place = { x: number; y: number; w: number; h: number };
type Rect = { left: number; top: number; right: number; bottom: number };

/** A count's size (CSS pixels, as its style draws it: 11 px bold, padded): ample, never short. */
function labelSize(b: Bundle): { w: number; h: number } {
  return { w: (b.members.length.toLocaleString("en").length + b.kind.length + 3) * 7.5 + 18, h: 20 };
}

/** The trunk, bar, ticks and arrowheads of a bundle, and where its count goes (flow coordinates). */
function shape(source: Place, members: Place[], flow: "LR" | "TB"): { line: string; heads: string; at: { x: number; y: number }; span: [number, number] } {
  const GAP = 14; // from the bar to the nodes it leads to
  const across = (p: Place) => (flow === "TB" ? p.x + p.w / 2 : p.y + p.h / 2);
  const near = Math.min(...members.map((m) => (flow === "TB" ? m.y : m.x)));
  const bar = near - GAP;
  const from = flow === "TB" ? { x: source.x + source.w / 2, y: source.y + source.h } : { x: source.x + source.w, y: source.y + source.h / 2 };
  const start = flow === "TB" ? from.x : from.y;
  const ends = [start, ...members.map(across)];
  const lo = Math.min(...ends);
  const hi = Math.max(...ends);
  const pt = (along: number, side: number) => (flow === "TB" ? `${side} ${along}` : `${along} ${side}`);
  const parts = [`M ${from.x} ${from.y} L ${pt(bar, start)}`, `M ${pt(bar, lo)} L ${pt(bar, hi)}`];
  const heads: string[] = [];
  // A tick and an arrowhead for each node on the bar's side (a folded block's first column).
  const seen = new Set<number>();
  for (const m of members) {
    const at = flow === "TB" ? m.y : m.x;
    const c = across(m);
    if (at !== near || seen.has(c)) continue;
    seen.add(c);
    parts.push(`M ${pt(bar, c)} L ${pt(near - 6, c)}`);
    heads.push(`M ${pt(near - 7, c - 4)} L ${pt(near, c)} L ${pt(near - 7, c + 4)} z`);
  }
  return { line: parts.join(" "), heads: heads.join(" "), at: flow === "TB" ? { x: start, y: bar } : { x: bar, y: start }, span: [lo, hi] };
}

/**
 * The ticks, bar and trunk of a fan-in, with an arrowhead on the node they meet in, and where
 * its count goes (flow coordinates).
 */
function shapeIn(target: Place, members: Place[], flow: "LR" | "TB"): { line: string; heads: string; at: { x: number; y: number }; span: [number, number] } {
  const GAP = 14; // from the nodes to the bar they lead to
  const across = (p: Place) => (flow === "TB" ? p.x + p.w / 2 : p.y + p.h / 2);
  const farOf = (p: Place) => (flow === "TB" ? p.y + p.h : p.x + p.w);
  const far = Math.max(...members.map(farOf));
  const bar = far + GAP;
  const end = across(target);
  // The trunk meets the target on its side towards the bar, and the arrow points at it.
  const nearSide = flow === "TB" ? target.y : target.x;
  const farSide = farOf(target);
  const into = nearSide >= bar ? nearSide : farSide;
  const sign = into >= bar ? 1 : -1;
  const ends = [end, ...members.map(across)];
  const lo = Math.min(...ends);
  const hi = Math.max(...ends);
  const pt = (along: number, side: number) => (flow === "TB" ? `${side} ${along}` : `${along} ${side}`);
  const parts = [`M ${pt(bar, lo)} L ${pt(bar, hi)}`, `M ${pt(bar, end)} L ${pt(into - sign * 6, end)}`];
  // A tick from each node on the bar's side (a folded block's last column).
  const seen = new Set<number>();
  for (const m of members) {
    const c = across(m);
    if (farOf(m) !== far || seen.has(c)) continue;
    seen.add(c);
    parts.push(`M ${pt(far, c)} L ${pt(bar, c)}`);
  }
  const heads = `M ${pt(into - sign * 8, end - 5)} L ${pt(into, end)} L ${pt(into - sign * 8, end + 5)} z`;
  return { line: parts.join(" "), heads, at: flow === "TB" ? { x: end, y: bar } : { x: bar, y: end }, span: [lo, hi] };
}

/** The bundles of a graph, under its nodes; each one's count is a button that opens or groups it. */
export function Bundles({
  bundles,
  nodes,
  flow,
  open,
  onToggle,
  lit,
}: {
  bundles: Bundle[];
  nodes: Map<string, Node>;
  flow: "LR" | "TB";
  open: ReadonlySet<string>;
  onToggle: (key: string) => void;
  /** whether a node is selected or highlighted: a bundle is when its one node and one of the others are */
  lit: (id: string) => boolean;
}) {
  const drawn = useMemo(() => {
    const place = (id: string): Place | null => {
      const n = nodes.get(id);
      return n ? { x: n.position.x, y: n.position.y, w: n.width ?? 0, h: n.height ?? 0 } : null;
    };
    return bundles.flatMap((b) => {
      const end = place(b.end);
      const members = b.members.map(place).filter((p): p is Place => p !== null);
      if (!end || !members.length) return [];
      return [{ b, ...(b.direction === "out" ? shape(end, members, flow) : shapeIn(end, members, flow)) }];
    });
  }, [bundles, nodes, flow]);
  // A count stays on screen while its bar is: it slides along the bar to the nearest edge of the
  // view (a trace opens on its newest runs, far from where the dataset and its trunk are), but
  // never under the chrome drawn over the graph (the zoom controls, the overview).
  const view = useViewport();
  const screen = useStore((st) => (flow === "TB" ? st.width : st.height));
  const pane = useStore((st) => st.domNode);
  const paneW = useStore((st) => st.width);
  const paneH = useStore((st) => st.height);
  const [chrome, setChrome] = useState<Rect[]>([]);
  // Measured once mounted (the panels are drawn after the bundles) and when the pane resizes.
  useLayoutEffect(() => {
    if (!pane) return;
    const at = pane.getBoundingClientRect();
    setChrome(
      [...pane.querySelectorAll(".react-flow__panel")].map((el) => {
        const r = el.getBoundingClientRect();
        return { left: r.left - at.left, top: r.top - at.top, right: r.right - at.left, bottom: r.bottom - at.top };
      }),
    );
  }, [pane, paneW, paneH, nodes]);
  const margin = 70 / view.zoom;
  const gap = 8 / view.zoom;
  const start = -(flow === "TB" ? view.x : view.y) / view.zoom;
  const label = (b: Bundle, at: { x: number; y: number }, [lo, hi]: [number, number]) => {
    const { w, h } = labelSize(b);
    // The label's extent across its bar, and half its length along it (flow coordinates).
    const [a0, a1] = flow === "TB" ? [at.y - h / 2, at.y + h / 2] : b.direction === "out" ? [at.x - 4 - w, at.x - 4] : [at.x + 4, at.x + 4 + w];
    const half = flow === "TB" ? w / 2 : h / 2;
    let first = start + margin;
    let last = start + screen / view.zoom - margin;
    for (const r of chrome) {
      // A panel in the label's way: the label stops short of it, on the side of the view's middle.
      const [c0, c1] = flow === "TB" ? [(r.top - view.y) / view.zoom, (r.bottom - view.y) / view.zoom] : [(r.left - view.x) / view.zoom, (r.right - view.x) / view.zoom];
      if (c1 + gap < a0 || a1 < c0 - gap) continue;
      const [o0, o1] = flow === "TB" ? [(r.left - view.x) / view.zoom, (r.right - view.x) / view.zoom] : [(r.top - view.y) / view.zoom, (r.bottom - view.y) / view.zoom];
      if (o0 + o1 < 2 * start + screen / view.zoom) first = Math.max(first, o1 + gap + half);
      else last = Math.min(last, o0 - gap - half);
    }
    const from = Math.max(lo, first);
    const to = Math.min(hi, last);
    const along = flow === "TB" ? at.x : at.y;
    const slid = from <= to ? Math.min(to, Math.max(from, along)) : along;
    return flow === "TB" ? { x: slid, y: at.y } : { x: at.x, y: slid };
  };
  // Across a top-to-bottom graph the count sits on its bar, in the gap above the nodes; along a
  // left-to-right one it would cover the nodes beside the bar, so it sits in the gap before the
  // bar (a fan-out: on its trunk) or after it (a fan-in), beside it.
  const place = (b: Bundle, at: { x: number; y: number }) =>
    flow === "TB"
      ? `translate(-50%, -50%) translate(${at.x}px, ${at.y}px)`
      : b.direction === "out"
        ? `translate(-100%, -50%) translate(${at.x - 4}px, ${at.y}px)`
        : `translate(0, -50%) translate(${at.x + 4}px, ${at.y}px)`;
  const what = (b: Bundle) => `${b.members.length.toLocaleString("en")} edges ${b.direction === "out" ? "to" : "from"} ${b.kind} nodes, drawn as one: click to draw each`;
  return (
    <EdgeLabelRenderer>
      <svg className="bundles nodrag nopan" width="1" height="1" aria-hidden="true">
        {drawn
          .filter(({ b }) => !open.has(b.key))
          .map(({ b, line, heads }) => (
            <g key={b.key} className={["bundle", b.className, lit(b.end) && b.members.some(lit) ? "highlighted" : ""].filter(Boolean).join(" ")} data-bundle={b.key} data-direction={b.direction}>
              <path className="bundle-line" d={line} />
              <path className="bundle-heads" d={heads} />
              {/* The bar can be far from its count (a trace's newest runs): it opens the bundle too. */}
              <path className="bundle-hit" d={line} onClick={() => onToggle(b.key)}>
                <title>{what(b)}</title>
              </path>
            </g>
          ))}
      </svg>
      {drawn.map(({ b, at: junction, span }) => {
        const at = label(b, junction, span);
        const count = b.members.length.toLocaleString("en");
        const opened = open.has(b.key);
        return (
          <button
            key={b.key}
            type="button"
            className={`bundle-count nodrag nopan${opened ? " opened" : ""}`}
            style={{ transform: place(b, at) }}
            aria-expanded={opened}
            data-direction={b.direction}
            title={opened ? `Draw these ${count} edges as one again` : what(b)}
            onClick={() => onToggle(b.key)}
          >
            {count} × {b.kind}
          </button>
        );
      })}
    </EdgeLabelRenderer>
  );
}
