// A line of values with one marked as the current one (a validation's accuracy history, a metric
// over the versions of an artifact), drawn by the metric chart: a real x axis, tooltips, zoom.
import { useMemo } from "react";
import { MetricChart, type XKind } from "./MetricChart";

export interface Point {
  label: string;
  value: number;
  current?: boolean;
  /** the point's x: milliseconds since the epoch with xKind "time"; its position otherwise */
  x?: number;
}

export function LineChart({ points, title, xKind = "version", height = 220 }: { points: Point[]; title: string; xKind?: XKind; height?: number }) {
  const labels = useMemo(() => points.map((p) => p.label), [points]);
  const series = useMemo(() => [{ label: title, x: points.map((p, i) => p.x ?? i), y: points.map((p) => p.value) }], [points, title]);
  const current = useMemo(() => {
    const i = points.findIndex((p) => p.current);
    return i < 0 ? undefined : { x: points[i].x ?? i, y: points[i].value, label: `current (${points[i].label})` };
  }, [points]);
  if (points.length === 0) return null;
  return <MetricChart title={title} series={series} xKind={xKind} xLabels={xKind === "version" ? labels : undefined} current={current} height={height} testId="line-chart" />;
}
