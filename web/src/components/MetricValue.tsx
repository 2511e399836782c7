// The one way a metric's value is shown: short (a few significant digits, `formatNumber`), the
// value in full in its tooltip, so that 0.6666666666666666 reads 0.66667 and is still there.
import { formatNumber, toNumber } from "../api/tracking";

/** A number as JavaScript writes it in full, and NaN and the infinities by name. */
export function fullNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  return String(v);
}

/** Whether a value is a metric's number as the API answers it (NaN and infinities as text). */
export function isMetricNumber(v: unknown): v is number | string {
  return typeof v === "number" || v === "NaN" || v === "Infinity" || v === "-Infinity";
}

export function MetricValue({ value }: { value: number | string | null | undefined }) {
  const v = toNumber(value);
  if (v === null) return <span className="muted">—</span>;
  return (
    <span className="num" data-value={fullNumber(v)} title={fullNumber(v)}>
      {formatNumber(v)}
    </span>
  );
}

/** A metric's value as text (where no element fits, as in an <option>): short, like MetricValue. */
export function metricText(v: unknown): string {
  if (v === null || v === undefined) return "";
  return isMetricNumber(v) ? formatNumber(toNumber(v)) : JSON.stringify(v);
}
