// What tells a person where they are and lets them pass it on: breadcrumbs, the page's title,
// copy-id and copy-link buttons, and times said the way people say them ("3 hours ago", "12 min").
import { Fragment, useEffect, useState, type ReactNode } from "react";
import "./views/registry.css";
import { formatTime } from "./hooks";
import { Link } from "./router";

/** The document's title while a view is shown: "cnn · artifact · modeltrail". */
export function useTitle(...parts: (string | null | undefined)[]): void {
  const title = [...parts.filter((p): p is string => Boolean(p)), "modeltrail"].join(" · ");
  useEffect(() => {
    document.title = title;
  }, [title]);
}

export interface Crumb {
  label: ReactNode;
  to?: string;
}

/** experiment › run › step › artifact: each level a link, the last one where you are. */
export function Breadcrumbs({ items }: { items: Crumb[] }) {
  return (
    <nav className="breadcrumbs" aria-label="breadcrumbs">
      {items.map((c, i) => (
        <Fragment key={i}>
          {i > 0 && <span className="sep" aria-hidden>›</span>}
          {c.to && i < items.length - 1 ? <Link to={c.to}>{c.label}</Link> : <span aria-current={i === items.length - 1 ? "page" : undefined}>{c.label}</span>}
        </Fragment>
      ))}
    </nav>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Without clipboard access (an insecure origin): select the text in a hidden field.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

/** A button that copies `text` and says so for a moment. */
export function CopyButton({ text, label, what }: { text: string; label: string; what: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = window.setTimeout(() => setState("idle"), 1500);
    return () => window.clearTimeout(t);
  }, [state]);
  return (
    <button type="button" className="copy" title={`copy ${what}: ${text}`} aria-label={`copy ${what}`} onClick={() => void copyText(text).then((ok) => setState(ok ? "copied" : "failed"))}>
      {state === "copied" ? "copied ✓" : state === "failed" ? "copy failed" : label}
    </button>
  );
}

/** Copy-id and copy-link buttons for the entity a view shows. */
export function CopyButtons({ id }: { id: string }) {
  return (
    <span className="copy-buttons">
      <CopyButton text={id} label="copy id" what="id" />
      <CopyButton text={window.location.href} label="copy link" what="link" />
    </span>
  );
}

// Each unit is used from the age at which it is the most precise one people still say: "36
// hours ago" rather than "yesterday" for a run of the day before yesterday's evening, "5 weeks
// ago" rather than "last month" for any time 30 to 60 days back.
const UNITS: [Intl.RelativeTimeFormatUnit, number, number][] = [
  // unit, its size in seconds, the age from which it is said
  ["year", 365 * 24 * 3600, 548 * 24 * 3600],
  ["month", 30 * 24 * 3600, 60 * 24 * 3600],
  ["week", 7 * 24 * 3600, 14 * 24 * 3600],
  ["day", 24 * 3600, 36 * 3600],
  ["hour", 3600, 90 * 60],
  ["minute", 60, 45],
];

let relativeFormat: Intl.RelativeTimeFormat | undefined;

/** "3 hours ago", "5 days ago", "in 2 days", "just now". */
export function relativeTime(value: string | null | undefined, now = Date.now()): string {
  if (!value) return "";
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return value;
  const seconds = (t - now) / 1000;
  relativeFormat ??= new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size, from] of UNITS) {
    if (Math.abs(seconds) >= from) return relativeFormat.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

/** Whether times said relatively would say the same on many of them ("5 weeks ago" on a
 * third of a page's rows): a column of them then shows the dates, which tell rows apart. */
export function sameRelativeTimes(values: (string | null | undefined)[], now = Date.now()): boolean {
  const counts = new Map<string, number>();
  let shown = 0;
  for (const v of values) {
    if (!v) continue;
    shown += 1;
    const said = relativeTime(v, now);
    counts.set(said, (counts.get(said) ?? 0) + 1);
  }
  return [...counts.values()].some((n) => n >= 3 && n * 4 > shown);
}

/** A time said relatively, the exact time on hover; or (`absolute`) the exact time, said
 * relatively on hover. The element carries the machine-readable time. */
export function When({ value, absolute = false }: { value: string | null | undefined; absolute?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={absolute ? relativeTime(value) : formatTime(value)}>
      {absolute ? formatTime(value) : relativeTime(value)}
    </time>
  );
}

/** "850 ms", "12.4 s", "3 min 5 s", "2 h 10 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min${Math.round(s % 60) ? ` ${Math.round(s % 60)} s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ""}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ""}`;
}

/** The time between two instants, or since `start` when it has not ended. */
export function Duration({ start, end }: { start?: string | null; end?: string | null }) {
  if (!start) return <span className="muted">—</span>;
  const from = new Date(start).getTime();
  const to = end ? new Date(end).getTime() : Date.now();
  const text = formatDuration(to - from);
  return text ? <span title={end ? undefined : "still running"}>{text}{end ? "" : "…"}</span> : <span className="muted">—</span>;
}
