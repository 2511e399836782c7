// A tiny history-API router: every view is a real URL that can be bookmarked and shared.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";
import { appPath, appUrl } from "./base";

const listeners = new Set<() => void>();

/** Go to `to`, a path of the UI ("/runs/ID"); `state` is kept with the history entry (it
 * survives Back and reload). */
export function navigate(to: string, replace = false, state: unknown = null): void {
  if (replace) window.history.replaceState(state, "", appUrl(to));
  else window.history.pushState(state, "", appUrl(to));
  listeners.forEach((l) => l());
}

window.addEventListener("popstate", () => listeners.forEach((l) => l()));

export interface Location {
  /** The path of the UI, without the prefix it is served under. */
  path: string;
  query: URLSearchParams;
}

export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((t) => t + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return { path: appPath(window.location.pathname), query: new URLSearchParams(window.location.search) };
}

/** Change some query parameters of the current URL (null removes one). */
export function withQuery(changes: Record<string, string | string[] | null>, path = appPath(window.location.pathname)): string {
  const query = new URLSearchParams(window.location.search);
  for (const [key, value] of Object.entries(changes)) {
    query.delete(key);
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export function Link({ to, children, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={appUrl(to)} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
