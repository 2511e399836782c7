// A parallel coordinates chart: one vertical axis per parameter (numbers on a linear scale, or a
// log scale when they span decades; other values as categories) and a metric last; one line per run.
import { useState } from "react";
import { formatNumber, formatValue } from "../api/tracking";
import { byNumbers } from "../order";
import { metricText } from "./MetricValue";

export interface Axis {
  label: string;
  values: unknown[];
  metric?: boolean;
}

interface Scale {
  kind: "linear" | "log" | "category";
  at: (v: unknown) => number | null;
  /** where, what it says, and (on a number axis) its value */
  ticks: [number, string, number?][];
}

const W = 1000;
const H = 300;
const PAD = { t: 34, b: 24, l: 60, r: 60 };

/** About `count` round steps (1, 2, 2.5 or 5 times a power of ten) over lo..hi, outward. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = power * ([1, 2, 2.5, 5, 10].find((m) => m * power >= raw) ?? 10);
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Rounded to the step's digits: 0.1 + 0.2 is 0.3, not 0.30000000000000004.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(digits)));
  return ticks;
}

/** "1e-4": a power of ten, short. */
const decade = (e: number) => (e >= 0 && e <= 3 ? String(10 ** e) : `1e${e}`);

function scaleOf(values: unknown[]): Scale {
  const span = H - PAD.t - PAD.b;
  const numbers = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  // NaN and the infinities (a run that diverged) have no place on a scale: no point, as none.
  const present = values.filter((v) => v !== null && v !== undefined && !(typeof v === "number" && !Number.isFinite(v)));
  if (numbers.length === present.length && numbers.length > 0) {
    const min = Math.min(...numbers);
    const max = Math.max(...numbers);
    // Positive values over more than two decades (learning rates 1e-4..1e-1) on a log axis,
    // from the decade below the least to the decade above the most, a tick per decade.
    if (min > 0 && max / min > 100) {
      const e0 = Math.floor(Math.log10(min) + 1e-9);
      const e1 = Math.ceil(Math.log10(max) - 1e-9);
      const y = (v: number) => PAD.t + ((e1 - Math.log10(v)) * span) / (e1 - e0);
      const step = Math.ceil((e1 - e0 + 1) / 7); // at most 7 ticks
      const ticks: [number, string, number][] = [];
      for (let e = e1; e >= e0; e -= step) ticks.push([y(10 ** e), decade(e), 10 ** e]);
      return { kind: "log", at: (v) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? y(v) : null), ticks };
    }
    const round = min === max ? [min - 1, min + 1] : niceTicks(min, max);
    const lo = round[0];
    const hi = round[round.length - 1];
    const y = (v: number) => PAD.t + ((hi - v) * span) / (hi - lo);
    return {
      kind: "linear",
      at: (v) => (typeof v === "number" && Number.isFinite(v) ? y(v) : null),
      ticks: [...round].reverse().map((t) => [y(t), formatNumber(t), t]),
    };
  }
  const categories = byNumbers(Array.from(new Set(present.map((v) => formatValue(v)))));
  const y = (i: number) => (categories.length === 1 ? PAD.t + span / 2 : PAD.t + (i * span) / (categories.length - 1));
  return {
    kind: "category",
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
        {/* The axes under the runs' lines, their labels over them on a halo of the background. */}
        {axes.map((a, i) => (
          <line key={a.label} x1={x(i)} x2={x(i)} y1={PAD.t} y2={H - PAD.b} className="pc-axis" />
        ))}
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
              <title>{`${line.label}: ${axes.map((a) => `${a.label} = ${(a.metric ? metricText(a.values[r]) : formatValue(a.values[r])) || "—"}`).join(", ")}`}</title>
            </path>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.label} data-axis={a.label} data-scale={scales[i].kind}>
            <text x={x(i)} y={PAD.t - 14} textAnchor="middle" className={a.metric ? "pc-label metric" : "pc-label"}>
              {a.label.length > 22 ? `${a.label.slice(0, 21)}…` : a.label}
            </text>
            {scales[i].ticks.map(([y, t, v]) => (
              <text key={`${y}-${t}`} x={x(i) - 6} y={y + 4} textAnchor="end" className="tick" data-value={v}>
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
