import type { ReactNode } from "react";
import type { ApiError } from "../api/client";

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="state loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden /> {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

/** An API problem (RFC 9457) shown as a sentence, with the failing fields. */
export function Problem({ error }: { error: ApiError }) {
  return (
    <div className="problem" role="alert">
      <strong>{error.title}</strong>
      {error.status ? <span className="muted"> ({error.status})</span> : null}
      {error.detail && error.detail !== error.title ? <div>{error.detail}</div> : null}
      {error.errors.length > 0 && (
        <ul>
          {error.errors.map((e, i) => (
            <li key={i}>
              {e.pointer ? <code>{e.pointer}</code> : null} {e.detail}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status?: string | null }) {
  if (!status) return null;
  return <span className={`badge status-${status.toLowerCase()}`}>{status}</span>;
}
