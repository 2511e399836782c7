import { useEffect, useState } from "react";
import { ApiError } from "./api/client";

export interface Async<T> {
  data?: T;
  error?: ApiError;
  loading: boolean;
}

/** Run an async loader whenever `key` changes; stale answers are dropped. */
export function useAsync<T>(load: () => Promise<T>, key: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({ loading: true });
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e: unknown) =>
        live && setState({ loading: false, error: e instanceof ApiError ? e : new ApiError(0, { title: "Error", detail: String(e) }) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, key);
  return state;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 8) : "";
}

// One formatter for every time shown: `toLocaleString` with options builds a new one on each
// call, which for a grid's page of rows costs more than drawing the rows.
let timeFormat: Intl.DateTimeFormat | undefined;

export function formatTime(value: string | null | undefined): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  timeFormat ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  return timeFormat.format(d);
}
