// A parallel coordinates chart: one vertical axis per parameter (numbers on a linear scale,
// other values as categories) and a metric last; one line per run.
import { useState } from "react";
import { formatNumber, formatValue } from "../api/tracking";

export interface Axis {
  label: string;
  values: unknown[];
  metric?: boolean;
}

interface Scale {
  at: (v: unknown) => number | null;
  ticks: [number, string][];
}

const W = 1000;
const H = 300;
const PAD = { t: 34, b: 24, l: 60, r: 60 };

function scaleOf(values: unknown[]): Scale {
  const span = H - PAD.t - PAD.b;
  const numbers = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  // NaN and the infinities (a run that diverged) have no place on a scale: no point, as none.
  const present = values.filter((v) => v !== null && v !== undefined && !(typeof v === "number" && !Number.isFinite(v)));
  if (numbers.length === present.length && numbers.length > 0) {
    let lo = Math.min(...numbers);
    let hi = Math.max(...numbers);
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    const y = (v: number) => PAD.t + ((hi - v) * span) / (hi - lo);
    return {
      at: (v) => (typeof v === "number" && Number.isFinite(v) ? y(v) : null),
      ticks: [hi, (hi + lo) / 2, lo].map((t) => [y(t), formatNumber(t)]),
    };
  }
  const categories = Array.from(new Set(present.map((v) => formatValue(v)))).sort();
  const y = (i: number) => (categories.length === 1 ? PAD.t + span / 2 : PAD.t + (i * span) / (categories.length - 1));
  return {
    at: (v) => (v === null || v === undefined ? null : y(categories.indexOf(formatValue(v)))),
    ticks: categories.slice(0, 12).map((c, i) => [y(i), c.length > 14 ? `${c.slice(0, 13)}…` : c]),
  };
}

export function ParallelCoordinates({ axes, lines }: { axes: Axis[]; lines: { label: string; color: string; dash?: number[] }[] }) {
  const [hover, setHover] = useState<number | null>(null);
  const scales = axes.map((a) => scaleOf(a.values));
  const x = (i: number) => PAD.l + (i * (W - PAD.l - PAD.r)) / Math.max(1, axes.length - 1);
  return (
    <figure className="chart parallel" data-testid="parallel-chart">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label={`parallel coordinates over ${axes.map((a) => a.label).join(", ")}`}>
        {lines.map((line, r) => {
          const segments: string[] = [];
          let pen = "M";
          axes.forEach((_, i) => {
            const y = scales[i].at(axes[i].values[r]);
            if (y === null) {
              pen = "M";
              return;
            }
            segments.push(`${pen}${x(i).toFixed(1)},${y.toFixed(1)}`);
            pen = "L";
          });
          return (
            <path
              key={r}
              d={segments.join(" ")}
              fill="none"
              stroke={line.color}
              strokeDasharray={line.dash?.join(" ")}
              strokeWidth={hover === r ? 4 : 2}
              opacity={hover === null || hover === r ? 0.9 : 0.2}
              onMouseEnter={() => setHover(r)}
              onMouseLeave={() => setHover(null)}
              data-run={line.label}
            >
              <title>{`${line.label}: ${axes.map((a) => `${a.label} = ${formatValue(a.values[r]) || "—"}`).join(", ")}`}</title>
            </path>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.label}>
            <line x1={x(i)} x2={x(i)} y1={PAD.t} y2={H - PAD.b} className="pc-axis" />
            <text x={x(i)} y={PAD.t - 14} textAnchor="middle" className={a.metric ? "pc-label metric" : "pc-label"}>
              {a.label.length > 22 ? `${a.label.slice(0, 21)}…` : a.label}
            </text>
            {scales[i].ticks.map(([y, t]) => (
              <text key={`${y}-${t}`} x={x(i) - 6} y={y + 4} textAnchor="end" className="tick">
                {t}
              </text>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>Each line is a run; hover one to pick it out.</figcaption>
    </figure>
  );
}
