// The runs grid of an experiment: its runs with the parameter, tag and metric columns chosen,
// sorted and searched (the `q` language) by the server, paged with the cursor in the address,
// runs ticked to compare (kept in the address).
import { useMemo, useRef, useState } from "react";
import type { ApiError } from "../api/client";
import { formatDuration, formatValue, listRunKeys, type RunInGrid } from "../api/tracking";
import { MetricValue } from "../components/MetricValue";
import { QueryInput } from "../components/QueryInput";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { Breadcrumbs, useTitle } from "../context";
import { first, gridAddress, GRID_PAGE_SIZES as PAGE_SIZES } from "../first";
import { formatTime, useAsync } from "../hooks";
import { byNumbers } from "../order";
import { Link, navigate, withQuery, type Location } from "../router";
import "./runs.css";

const FIELDS = ["name", "status", "createTime", "endTime", "id", "version", "uri", "experiment.name"];
const MAX_COMPARED = 100;

/** A column's heading: its key without the document's prefix, the aggregate after it. */
export function heading(column: string): { group: string; label: string } {
  const [group, ...rest] = column.split(".");
  const label = rest.join(".").replace(/`/g, "");
  return { group: group === "configuration" ? "param" : group === "annotations" ? "tag" : group === "metrics" ? "metric" : group, label: label || column };
}

function Cell({ column, value }: { column: string; value: unknown }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  if (column.startsWith("metrics.")) return <MetricValue value={value as number | string} />;
  if (typeof value === "number") return <span className="num">{formatValue(value)}</span>;
  return <span title={formatValue(value)}>{formatValue(value)}</span>;
}

export function RunsGrid({ id, location }: { id: string; location: Location }) {
  const address = gridAddress(id, location.query);
  const { q, sort, cursor, auto, limit } = address;
  const prev = location.query.getAll("prev");
  const experiment = useAsync(() => first.experiment(id), [id]);
  const page = useAsync(() => first.grid(address.page), [id, address.page.columns, q, sort, cursor, limit]);
  // The keys (for the chooser and the completion) read many runs: asked only once the person
  // goes to the search or the column chooser, so that they never compete with the page's own
  // requests, nor with the next page's when the person moves on at once.
  const [wantKeys, setWantKeys] = useState(false);
  const askKeys = () => setWantKeys(true);
  const keys = useAsync(async () => (wantKeys ? listRunKeys(id) : undefined), [id, wantKeys]);
  const count = useAsync(() => first.grid(address.count), [id, q]);
  // The ticked runs are in the address too, so that a reload or a shared link keeps them.
  const ticked = location.query.get("selected") ?? "";
  const selected = useMemo(() => ticked.split(",").filter(Boolean), [ticked]);
  const setSelected = (change: (s: string[]) => string[]) => navigate(withQuery({ selected: change(selected).join(",") || null }), true);

  // A search the server refuses is said at the search box, with what is wrong and where; the
  // table keeps the columns of the last answer and says that nothing was searched.
  const badQuery = queryProblem(page.error) ?? queryProblem(count.error);
  const lastColumns = useRef<string[] | null>(null);
  if (page.data) lastColumns.current = page.data.columns ?? [];
  // The table draws the columns of the answer it shows; the chooser, those asked for.
  const columns = page.data?.columns ?? (page.error ? (lastColumns.current ?? []) : []);
  // With `auto`, the chooser ticks what the answer shows: the chosen columns and those named.
  const picked = auto ? columns : address.chosen.split(",").filter(Boolean);
  const items = page.data?.items ?? [];
  // The search box completes keys in the chooser's order: each group by the numbers in it.
  const allKeys = useMemo(() => [...FIELDS, ...(keys.data ? [...byNumbers(keys.data.parameters), ...byNumbers(keys.data.tags), ...byNumbers(keys.data.metrics)] : [])], [keys.data]);

  const setSort = (column: string) => {
    const next = sort === column ? `-${column}` : column;
    navigate(withQuery({ sort: next, cursor: null, prev: null }));
  };
  const setColumns = (next: string[]) => navigate(withQuery({ columns: next.join(","), cursor: null, prev: null }));
  const nextPage = () => page.data?.nextCursor && navigate(withQuery({ cursor: page.data.nextCursor, prev: [...prev, cursor ?? ""] }));
  const prevPage = () => {
    const back = prev[prev.length - 1];
    navigate(withQuery({ cursor: back ? back : null, prev: prev.slice(0, -1) }));
  };
  const toggle = (run: string) => setSelected((s) => (s.includes(run) ? s.filter((x) => x !== run) : [...s, run].slice(-MAX_COMPARED)));
  const allOnPage = items.length > 0 && items.every((r) => selected.includes(r.id));
  const toggleAll = () => setSelected((s) => (allOnPage ? s.filter((x) => !items.some((r) => r.id === x)) : [...s, ...items.map((r) => r.id).filter((x) => !s.includes(x))].slice(-MAX_COMPARED)));

  const offset = prev.length * limit;
  const total = count.data?.total;
  const name = experiment.data?.name ?? "";
  useTitle(name, "runs");
  const sortHeader = (column: string, label: React.ReactNode, extra?: string) => {
    const state = sort === column ? "ascending" : sort === `-${column}` ? "descending" : "none";
    return (
      <th key={column} aria-sort={state} scope="col" className={extra} data-column={column}>
        <button className="sort" onClick={() => setSort(column)} title={`sort by ${column}`}>
          {label}
          <span className="arrow">{state === "ascending" ? "▲" : state === "descending" ? "▼" : "↕"}</span>
        </button>
      </th>
    );
  };

  // An experiment that is not there has no runs to search, page or trace: say only that.
  if (experiment.error?.status === 404)
    return (
      <section className="view runs-grid">
        <header className="view-head">
          <Breadcrumbs items={[{ label: "experiments", to: "/experiments" }, { label: "experiment" }]} />
          <h1>Runs</h1>
        </header>
        <Problem error={experiment.error} />
      </section>
    );
  return (
    <section className="view runs-grid">
      <header className="view-head">
        <Breadcrumbs items={[{ label: "experiments", to: "/experiments" }, { label: name || "experiment" }]} />
        <h1>Runs of {name || "…"}</h1>
        <div className="muted">
          <Link to={`/experiments/${id}/trace`}>trace</Link> · <Link to={`/experiments/${id}/history`}>history</Link>
        </div>
      </header>
      {experiment.error && <Problem error={experiment.error} />}
      <div className="grid-search">
        <QueryInput
          value={q}
          invalid={badQuery !== null}
          keys={allKeys}
          onFocus={askKeys}
          onSubmit={(text) => navigate(withQuery({ q: text || null, cursor: null, prev: null }))}
          placeholder='search: metrics.accuracy > 0.9 and configuration.optimizer = "adam"   (Tab completes a key, Enter searches)'
        />
        {q && (
          <button type="button" onClick={() => navigate(withQuery({ q: null, cursor: null, prev: null }))}>
            Clear
          </button>
        )}
        <ColumnChooser keys={keys.data} columns={picked} known={page.data !== undefined || lastColumns.current !== null} onChange={setColumns} auto={auto} onNeedKeys={askKeys} />
      </div>
      {badQuery !== null && (
        <div className="query-error" role="alert" id="query-error" data-testid="query-error">
          <strong>This search is not valid:</strong> {badQuery}
        </div>
      )}
      <div className="hint">
        Search on any column: <code>=</code> <code>!=</code> <code>&lt;</code> <code>&gt;</code> <code>in</code> <code>like</code> <code>is null</code>, with{" "}
        <code>and</code>, <code>or</code>, <code>not</code> and parentheses; a metric's least and greatest value are <code>metrics.KEY.min</code> and{" "}
        <code>metrics.KEY.max</code>.
      </div>
      {page.error && badQuery === null && <Problem error={page.error} />}
      <div className="table-bar">
        <span className="count" data-testid="count">
          {badQuery !== null ? (
            "no runs searched"
          ) : (
            <>
              {items.length > 0 ? `${offset + 1}–${offset + items.length}` : "0"} of{" "}
              {total === undefined || total === null ? (count.error ? "?" : "…") : total.toLocaleString()} runs
            </>
          )}
        </span>
        <span className="compare-bar">
          <span className="muted">{selected.length ? `${selected.length} selected` : "tick runs to compare them"}</span>
          <button type="button" disabled={selected.length < 2} onClick={() => navigate(`/compare/runs?ids=${selected.join(",")}`)}>
            Compare selected
          </button>
          {selected.length > 0 && (
            <button type="button" onClick={() => setSelected(() => [])}>
              Clear selection
            </button>
          )}
        </span>
        <span className="pager">
          <select aria-label="rows per page" value={limit} onChange={(e) => navigate(withQuery({ limit: e.target.value, cursor: null, prev: null }))}>
            {Array.from(new Set([...PAGE_SIZES, limit])).sort((a, b) => a - b).map((n) => (
              <option key={n} value={n}>
                {n} per page
              </option>
            ))}
          </select>
          <button onClick={prevPage} disabled={!cursor}>
            ← Previous
          </button>
          <button onClick={nextPage} disabled={!page.data?.nextCursor}>
            Next →
          </button>
        </span>
      </div>
      <div className="table-wrap">
        <table className={page.loading ? "data grid stale" : "data grid"} aria-label="runs">
          <thead>
            <tr>
              <th scope="col" className="check">
                <input type="checkbox" aria-label="select every run of the page" checked={allOnPage} onChange={toggleAll} />
              </th>
              {sortHeader("name", "Name", "name")}
              {sortHeader("status", "Status")}
              {sortHeader("createTime", "Started")}
              {sortHeader("duration", "Duration", "numeric")}
              {columns.map((c) => {
                const h = heading(c);
                return sortHeader(
                  c,
                  <span className="col-head" title={c}>
                    <span className="col-group">{h.group}</span> {h.label}
                  </span>,
                  c.startsWith("metrics.") ? "numeric" : undefined,
                );
              })}
            </tr>
          </thead>
          <tbody>
            {items.map((r: RunInGrid) => (
              <tr key={r.id} data-id={r.id} className={selected.includes(r.id) ? "picked" : undefined}>
                <td className="check">
                  <input type="checkbox" aria-label={`select ${r.name}`} checked={selected.includes(r.id)} onChange={() => toggle(r.id)} />
                </td>
                <td className="name">
                  <Link to={`/runs/${r.id}`}>{r.name}</Link>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td title={r.createTime}>{formatTime(r.createTime)}</td>
                <td className="num">{r.duration === null || r.duration === undefined ? <span className="muted">running</span> : formatDuration(r.duration)}</td>
                {columns.map((c) => (
                  <td key={c} data-column={c} className={c.startsWith("metrics.") ? "numeric" : undefined}>
                    <Cell column={c} value={r.columns?.[c]} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {page.loading && !page.data && <Loading what="Loading the runs" />}
        {!page.loading && !page.error && items.length === 0 && <Empty>No runs {q ? "match this search" : "in this experiment yet"}.</Empty>}
        {!page.loading && badQuery !== null && <Empty>No runs shown: the search is not valid. Change it above, or clear it.</Empty>}
      </div>
      {auto && columns.some((c) => c.startsWith("metrics.")) && <p className="hint">Columns chosen for you: the parameters that vary between the runs and their metrics.</p>}
    </section>
  );
}

/** What is wrong with the search (`q`) as the server said it, or null for another problem. */
function queryProblem(error: ApiError | undefined): string | null {
  if (!error || error.status !== 422) return null;
  const field = error.errors.find((e) => e.pointer === "/q");
  if (!field) return null;
  return error.detail.replace(/^q: /, "") || field.detail || "";
}

function ColumnChooser({
  keys,
  columns,
  known,
  onChange,
  auto,
  onNeedKeys,
}: {
  keys?: { parameters: string[]; tags: string[]; metrics: string[] };
  columns: string[];
  /** Whether the columns are known: not while the first answer is awaited or was refused. */
  known: boolean;
  onChange: (c: string[]) => void;
  auto: boolean;
  onNeedKeys: () => void;
}) {
  const [filter, setFilter] = useState("");
  const on = new Set(columns);
  const flip = (c: string) => onChange(on.has(c) ? columns.filter((x) => x !== c) : [...columns, c]);
  const match = (k: string) => k.toLowerCase().includes(filter.toLowerCase());
  const group = (title: string, list: string[], aggregates = false) => {
    const shown = byNumbers(list.filter(match));
    return (
      shown.length > 0 && (
        <fieldset>
          <legend>{title}</legend>
          {shown.map((k) => (
            <div key={k} className="chooser-row">
              <label>
                <input type="checkbox" checked={on.has(k)} onChange={() => flip(k)} /> {heading(k).label}
              </label>
              {aggregates &&
                ["min", "max"].map((a) => (
                  <label key={a} className="muted">
                    <input type="checkbox" checked={on.has(`${k}.${a}`)} onChange={() => flip(`${k}.${a}`)} /> {a}
                  </label>
                ))}
            </div>
          ))}
        </fieldset>
      )
    );
  };
  return (
    // Pointing at the chooser already asks for the keys, so that they are in when it opens.
    <details className="chooser" onPointerEnter={onNeedKeys} onFocus={onNeedKeys} onToggle={onNeedKeys}>
      <summary>
        Columns ({auto && !known ? "auto" : `${columns.length}${auto ? ", auto" : ""}`})
      </summary>
      <div className="chooser-body">
        <input type="search" placeholder="find a key" aria-label="find a column" value={filter} onChange={(e) => setFilter(e.target.value)} />
        {!keys && <Loading what="Loading the keys" />}
        {keys && (
          <>
            {group("Metrics (latest, min, max)", keys.metrics, true)}
            {group("Parameters", keys.parameters)}
            {group("Tags", keys.tags)}
          </>
        )}
        <div className="chooser-actions">
          <button type="button" onClick={() => onChange([])}>
            None
          </button>
          <button type="button" onClick={() => navigate(withQuery({ columns: null, cursor: null, prev: null }))}>
            Auto
          </button>
        </div>
      </div>
    </details>
  );
}
