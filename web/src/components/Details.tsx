// Key/value rendering of an entity or any JSON value, with ids linked to their views.
import type { ReactNode } from "react";
import { formatTime } from "../hooks";
import { ArtifactName } from "./ArtifactExtras";
import { MetricValue } from "./MetricValue";
import { Link } from "../router";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function Value({ value }: { value: unknown }): ReactNode {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (typeof value === "string") {
    if (UUID.test(value)) return <code>{value}</code>;
    if (/^\d{4}-\d\d-\d\dT/.test(value)) return <time dateTime={value}>{formatTime(value)}</time>;
    return <span className="text">{value}</span>;
  }
  // A fraction is shown short, in full in its tooltip (a metric's value, a score); a whole
  // number (a count, a size) as it is.
  if (typeof value === "number" && !Number.isInteger(value))
    return (
      <code>
        <MetricValue value={value} />
      </code>
    );
  if (typeof value === "number" || typeof value === "boolean") return <code>{String(value)}</code>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">none</span>;
    return (
      <ul className="plain">
        {value.map((v, i) => (
          <li key={i}>
            <Value value={v} />
          </li>
        ))}
      </ul>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return <span className="muted">none</span>;
  return <KeyValues entries={entries} />;
}

export function KeyValues({ entries }: { entries: [string, unknown][] }) {
  return (
    <dl className="kv">
      {entries.map(([k, v]) => (
        <div key={k} className="kv-row">
          <dt>{k}</dt>
          <dd>
            <Value value={v} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function ArtifactLink({ id, children }: { id: string; children?: ReactNode }) {
  return <Link to={`/artifacts/${id}`}>{children ?? <ArtifactName id={id} />}</Link>;
}
