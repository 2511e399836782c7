// A small dependency-free SVG line chart (accuracies over runs, metric values over time).
export interface Point {
  label: string;
  value: number;
  current?: boolean;
}

export function LineChart({ points, title, width = 560, height = 220 }: { points: Point[]; title: string; width?: number; height?: number }) {
  if (points.length === 0) return null;
  const pad = { l: 48, r: 16, t: 16, b: 36 };
  const values = points.map((p) => p.value);
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= 0.5;
    max += 0.5;
  }
  const x = (i: number) => pad.l + (points.length === 1 ? (width - pad.l - pad.r) / 2 : (i * (width - pad.l - pad.r)) / (points.length - 1));
  const y = (v: number) => pad.t + ((max - v) * (height - pad.t - pad.b)) / (max - min);
  const ticks = [min, (min + max) / 2, max];
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  return (
    <figure className="chart" data-testid="line-chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title} width="100%" style={{ maxWidth: width }}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.l} x2={width - pad.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={pad.l - 6} y={y(t) + 4} textAnchor="end" className="tick">
              {Number(t.toPrecision(3))}
            </text>
          </g>
        ))}
        <path d={path} className="line" fill="none" />
        {points.map((p, i) => (
          <g key={i}>
            <circle cx={x(i)} cy={y(p.value)} r={p.current ? 5 : 3.5} className={p.current ? "dot current" : "dot"}>
              <title>{`${p.label}: ${p.value}`}</title>
            </circle>
            {(points.length <= 12 || i % Math.ceil(points.length / 12) === 0) && (
              <text x={x(i)} y={height - pad.b + 16} textAnchor="middle" className="tick">
                {p.label.length > 10 ? `${p.label.slice(0, 9)}…` : p.label}
              </text>
            )}
          </g>
        ))}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
