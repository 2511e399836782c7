// A directed graph laid out by dagre and drawn by React Flow; used by the DAG, trace and
// lineage views. Nodes carry a class for their status or kind; highlighted nodes stand out.
import dagre from "@dagrejs/dagre";
import { Background, Controls, MarkerType, MiniMap, Position, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";

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
}: {
  nodes: GraphNode[];
  edges: GraphEdge[];
  selected?: string | null;
  highlighted?: Set<string>;
  onSelect?: (id: string | null) => void;
  direction?: "LR" | "TB";
  height?: string | number;
}) {
  const positions = useMemo(
    () => (nodes.every((n) => n.position) ? null : layout(nodes, edges, direction)),
    [nodes, edges, direction],
  );
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
        style: { width: n.width ?? NODE_W },
        sourcePosition: direction === "LR" ? Position.Right : Position.Bottom,
        targetPosition: direction === "LR" ? Position.Left : Position.Top,
        draggable: false,
        connectable: false,
      })),
    [nodes, positions, selected, highlighted, direction],
  );
  const flowEdges: Edge[] = useMemo(
    () =>
      edges.map((e, i) => ({
        id: `e${i}-${e.source}-${e.target}`,
        source: e.source,
        target: e.target,
        className: [e.className, highlighted?.has(e.source) && highlighted?.has(e.target) ? "highlighted" : ""].filter(Boolean).join(" "),
        label: e.label,
        markerEnd: { type: MarkerType.ArrowClosed },
      })),
    [edges, highlighted],
  );
  return (
    <div className="graph" style={{ height }}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        fitView
        fitViewOptions={{ maxZoom: 1.2, padding: 0.08 }}
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
