// Finding anything by a word of its name, its id or its URI: the global search (Ctrl-K / ⌘K)
// and a picker for the places that ask for an artifact.
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import "../views/registry.css";
import { ApiError } from "../api/client";
import { hitPath, search, type SearchHit } from "../api/registry";
import { Link, navigate } from "../router";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Hits for `text`, asked for once the typing pauses; stale answers are dropped. */
function useSearch(text: string, types?: string, limit = 20, delay = 180) {
  const [state, setState] = useState<{ hits: SearchHit[]; error?: ApiError; loading: boolean; for: string }>({ hits: [], loading: false, for: "" });
  useEffect(() => {
    const q = text.trim();
    if (!q) {
      setState({ hits: [], loading: false, for: "" });
      return;
    }
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    const t = window.setTimeout(() => {
      search(q, limit, types).then(
        (hits) => live && setState({ hits, loading: false, for: q }),
        (e: unknown) => live && setState({ hits: [], loading: false, for: q, error: e instanceof ApiError ? e : new ApiError(0, { detail: String(e) }) }),
      );
    }, delay);
    return () => {
      live = false;
      window.clearTimeout(t);
    };
  }, [text, types, limit, delay]);
  return state;
}

function listKeys(e: KeyboardEvent, count: number, active: number, setActive: (n: number) => void, open: () => void): boolean {
  if (e.key === "ArrowDown") setActive(Math.min(active + 1, count - 1));
  else if (e.key === "ArrowUp") setActive(Math.max(active - 1, 0));
  else if (e.key === "Enter") open();
  else return false;
  e.preventDefault();
  return true;
}

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** The header's search button and the dialog it opens (also with Ctrl-K or ⌘K anywhere). */
export function GlobalSearch() {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <>
      <button type="button" className="search-button" onClick={() => setOpen(true)} aria-keyshortcuts="Control+K Meta+K" title="search names, ids and URIs">
        Search… <kbd>{isMac ? "⌘" : "Ctrl"} K</kbd>
      </button>
      {open && <SearchDialog onClose={() => setOpen(false)} />}
    </>
  );
}

function SearchDialog({ onClose }: { onClose: () => void }) {
  const [text, setText] = useState("");
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();
  const result = useSearch(text);
  useEffect(() => input.current?.focus(), []);
  useEffect(() => setActive(0), [result.for]);
  const go = (hit?: SearchHit) => {
    if (!hit) return;
    onClose();
    navigate(hitPath(hit));
  };
  return (
    <div className="search-dialog" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="search-panel" role="dialog" aria-modal="true" aria-label="search">
        <input
          ref={input}
          type="search"
          role="combobox"
          aria-expanded={result.hits.length > 0}
          aria-controls={listId}
          aria-activedescendant={result.hits.length ? `${listId}-${active}` : undefined}
          aria-label="search names, ids and URIs"
          placeholder="a name, an id or a URI…"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              onClose();
            } else listKeys(e, result.hits.length, active, setActive, () => go(result.hits[active]));
          }}
        />
        {result.error && (
          <div className="state problem" role="alert">
            {result.error.title}: {result.error.detail}
          </div>
        )}
        {!result.error && text.trim() && !result.loading && result.for && result.hits.length === 0 && <div className="state empty">Nothing matches “{result.for}”.</div>}
        {!text.trim() && <div className="state muted">Experiments, runs, steps, artifacts and models, by a word of their name, the start of their id, or their URI. ↑↓ move, Enter opens, Esc closes.</div>}
        <ul id={listId} role="listbox" aria-label="results" aria-busy={result.loading}>
          {result.hits.map((hit, i) => (
            <li key={`${hit.type}-${hit.id}`} id={`${listId}-${i}`} role="option" aria-selected={i === active} onMouseEnter={() => setActive(i)}>
              <Link to={hitPath(hit)} onClick={onClose}>
                <span className="hit-type">{hit.kind ? `${hit.type} · ${hit.kind}` : hit.type}</span>
                <span className="hit-name">{hit.name ?? hit.id.slice(0, 8)}</span>
                {hit.snippet && hit.snippet !== hit.name && <span className="hit-snippet">{hit.snippet}</span>}
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}

/** Choose an artifact by a word of its name, its URI or its id; a pasted id is taken as it is. */
export function ArtifactPicker({ onPick, label, placeholder = "an artifact's name, URI or id" }: { onPick: (id: string) => void; label: string; placeholder?: string }) {
  const [text, setText] = useState("");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const listId = useId();
  const typed = text.trim();
  const result = useSearch(UUID.test(typed) ? "" : typed, "artifact", 12);
  useEffect(() => setActive(0), [result.for]);
  const pick = (id: string) => {
    setOpen(false);
    setText("");
    onPick(id);
  };
  const shown = open && result.hits.length > 0;
  return (
    <form
      className="picker"
      onSubmit={(e) => {
        e.preventDefault();
        if (UUID.test(typed)) pick(typed);
        else if (result.hits[active]) pick(result.hits[active].id);
      }}
    >
      <input
        type="search"
        role="combobox"
        aria-label={label}
        aria-expanded={shown}
        aria-controls={listId}
        aria-activedescendant={shown ? `${listId}-${active}` : undefined}
        aria-autocomplete="list"
        placeholder={placeholder}
        value={text}
        size={38}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === "Escape") setOpen(false);
          else if (e.key !== "Enter" && shown) listKeys(e, result.hits.length, active, setActive, () => undefined);
        }}
      />{" "}
      <button type="submit" disabled={!UUID.test(typed) && !result.hits.length}>
        Compare
      </button>
      {shown && (
        <ul id={listId} role="listbox" aria-label={`${label}: choices`}>
          {result.hits.map((hit, i) => (
            <li
              key={hit.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(hit.id);
              }}
            >
              <strong>{hit.name}</strong> {hit.kind && <span className="badge">{hit.kind}</span>} <span className="muted small">{hit.uri ?? (hit.snippet !== hit.name ? hit.snippet : "")}</span>{" "}
              <code className="muted small">{hit.id.slice(0, 8)}</code>
            </li>
          ))}
        </ul>
      )}
      {open && typed && !UUID.test(typed) && result.for && !result.loading && result.hits.length === 0 && <span className="muted small"> no artifact matches</span>}
      {result.error && <span className="error-text small"> {result.error.detail}</span>}
    </form>
  );
}
