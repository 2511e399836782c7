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
  // A field's error that the detail already says in full is not printed a second time.
  const errors = error.errors.filter((e) => !(e.detail && error.detail.includes(e.detail)));
  return (
    <div className="problem" role="alert">
      <strong>{error.title}</strong>
      {error.status ? <span className="muted"> ({error.status})</span> : null}
      {error.detail && error.detail !== error.title ? <div>{error.detail}</div> : null}
      {errors.length > 0 && (
        <ul>
          {errors.map((e, i) => (
            <li key={i}>
              {e.pointer ? <code>{e.pointer}</code> : null} {e.detail}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The first of several loads' problems: one missing entity is said once, not once per request. */
export function FirstProblem({ errors }: { errors: (ApiError | null | undefined)[] }) {
  const error = errors.find((e) => e);
  return error ? <Problem error={error} /> : null;
}

export function StatusBadge({ status }: { status?: string | null }) {
  if (!status) return null;
  return <span className={`badge status-${status.toLowerCase()}`}>{status}</span>;
}
