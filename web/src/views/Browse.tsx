// Figure 7.2's tables: experiments -> runs -> executions -> artifacts, filtered, sorted and
// paged by the server; selecting a row opens the next table filtered by it.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { listEntities, type Artifact, type Entity, type EntityName, type Execution, type Experiment, type Run } from "../api/client";
import { FilterInput } from "../components/FilterInput";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { CopyButton, Duration, sameRelativeTimes, useTitle, When } from "../context";
import { shortId, useAsync } from "../hooks";
import { Link, navigate, withQuery, type Location } from "../router";

interface Column {
  key: string;
  label: string;
  // `names`: the names of the entities the page's rows refer to, by id (answered with the page);
  // `dates`: the time columns whose relative times would be the same on many rows (their dates
  // are shown instead).
  render: (row: any, names: Record<string, string>, dates: Set<string>) => ReactNode; // eslint-disable-line @typescript-eslint/no-explicit-any
  time?: boolean;
}

interface TableConfig {
  title: string;
  columns: Column[];
  fields: string[];
  defaultSort: string;
  open: (row: any) => string; // eslint-disable-line @typescript-eslint/no-explicit-any
  openLabel: string;
  actions: (row: any) => [string, string][]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const time = (key: string, label: string): Column => ({ key, label, time: true, render: (r, _, dates) => <When value={r[key]} absolute={dates.has(key)} /> });
// When it ended, and how long it took from `start`.
const ended = (start: string, label: string): Column => ({
  key: "endTime",
  label,
  time: true,
  render: (r, _, dates) =>
    r.endTime ? (
      <>
        <When value={r.endTime} absolute={dates.has("endTime")} />{" "}
        <span className="muted">
          (<Duration start={r[start]} end={r.endTime} />)
        </span>
      </>
    ) : (
      ""
    ),
});
const text = (key: string, label: string): Column => ({ key, label, render: (r) => r[key] ?? "" });
// Another entity by its name, a link; its id in the tooltip and a copy button.
const ref = (key: string, label: string, to: (id: string) => string): Column => ({
  key,
  label,
  render: (r, names) =>
    r[key] ? (
      <span className="ref">
        <Link to={to(r[key])} title={r[key]} data-ref={key}>
          {names[r[key]] ?? shortId(r[key])}
        </Link>
        <CopyButton text={r[key]} label="id" what={`${label.toLowerCase()} id`} />
      </span>
    ) : (
      ""
    ),
});

export const TABLES: Record<EntityName, TableConfig> = {
  experiments: {
    title: "Experiments",
    columns: [text("name", "Name"), text("version", "Version"), time("createTime", "Created"), text("revision", "Revision")],
    fields: ["id", "name", "version", "createTime", "revision", "annotations.KEY"],
    defaultSort: "-createTime",
    open: (r: Experiment) => `/experiments/${r.id}/runs`,
    openLabel: "runs",
    actions: (r: Experiment) => [
      ["trace", `/experiments/${r.id}/trace`],
      ["history", `/experiments/${r.id}/history`],
    ],
  },
  runs: {
    title: "Runs",
    columns: [
      text("name", "Name"),
      { key: "status", label: "Status", render: (r: Run) => <StatusBadge status={r.status} /> },
      time("createTime", "Started"),
      ended("createTime", "Ended (took)"),
      ref("experiment", "Experiment", (id) => `/experiments/${id}/runs`),
      ref("pipeline", "Pipeline", (id) => `/runs?filter=${encodeURIComponent(`pipeline:eq:${id}`)}`),
      text("version", "Version"),
    ],
    fields: ["id", "name", "status", "experiment", "createTime", "endTime", "version", "uri", "pipeline", "event", "configuration.KEY", "annotations.KEY"],
    defaultSort: "-createTime",
    open: (r: Run) => `/executions?filter=${encodeURIComponent(`run:eq:${r.id}`)}`,
    openLabel: "executions",
    actions: (r: Run) => [
      ["run", `/runs/${r.id}`],
      ["DAG", `/runs/${r.id}/dag`],
    ],
  },
  executions: {
    title: "Executions",
    columns: [
      text("name", "Name"),
      text("kind", "Kind"),
      { key: "status", label: "Status", render: (r: Execution) => <StatusBadge status={r.status} /> },
      time("startTime", "Started"),
      ended("startTime", "Ended (took)"),
      ref("run", "Run", (id) => `/runs/${id}`),
      ref("executable", "Executable", (id) => `/executions?filter=${encodeURIComponent(`executable:eq:${id}`)}`),
    ],
    fields: ["id", "name", "kind", "status", "run", "executable", "startTime", "endTime", "createTime", "fingerprint", "reusedFrom", "experiment", "inputArtifact", "outputArtifact", "configuration.KEY"],
    defaultSort: "-createTime",
    open: (r: Execution) => `/artifacts?filter=${encodeURIComponent(`producedBy:eq:${r.id}`)}`,
    openLabel: "artifacts",
    actions: (r: Execution) => [
      ["step", `/executions/${r.id}`],
      ["DAG", `/runs/${r.run}/dag?select=${r.id}`],
    ],
  },
  artifacts: {
    title: "Artifacts",
    columns: [
      text("name", "Name"),
      text("kind", "Kind"),
      text("version", "Version"),
      time("createTime", "Created"),
      text("uri", "URI"),
      { key: "fingerprint", label: "Fingerprint", render: (r: Artifact) => <code>{r.fingerprint.slice(0, 10)}</code> },
    ],
    fields: ["id", "name", "kind", "version", "createTime", "uri", "fingerprint", "description", "run", "experiment", "producedBy", "consumedBy", "references", "attributes.KEY", "annotations.KEY"],
    defaultSort: "-createTime",
    open: (r: Artifact) => `/artifacts/${r.id}`,
    openLabel: "details",
    actions: (r: Artifact) => [
      ["lineage", `/artifacts/${r.id}/lineage`],
      ["why", `/compare?a=${r.id}`],
    ],
  },
};

const PAGE_SIZE = 50;

interface PagingState {
  cursors: string[];
  of: string;
}

/** The cursors of the pages before the one at `cursor`, kept with the history entry. */
function previousCursors(cursor: string | undefined): string[] {
  const state = window.history.state as Partial<PagingState> | null;
  return state && Array.isArray(state.cursors) && state.of === (cursor ?? "") ? state.cursors : [];
}

export function Browse({ entity, location }: { entity: EntityName; location: Location }) {
  const config = TABLES[entity];
  useTitle(config.title.toLowerCase());
  const filters = location.query.getAll("filter");
  const sort = location.query.get("sort") ?? config.defaultSort;
  const cursor = location.query.get("cursor") ?? undefined;
  const limit = Math.min(1000, Math.max(1, Number(location.query.get("limit")) || PAGE_SIZE));
  const key = [entity, filters.join("\n"), sort, cursor, limit];
  const page = useAsync(() => listEntities(entity, { filter: filters, sort, cursor, limit }), key);
  // Counting every match is slower on large stores, so it never holds up the first page.
  const count = useAsync(() => listEntities(entity, { filter: filters, limit: 1, count: true }), [entity, filters.join("\n")]);
  const [active, setActive] = useState(0);
  // Where this page starts is in the address (`offset`), so that Back, reload and a shared link
  // all say "51–100" on the second page; the cursors of the pages before it are kept with the
  // history entry, so that "Previous" works after a reload too.
  const offset = Math.max(0, Number(location.query.get("offset")) || 0);
  const before = previousCursors(cursor);
  const tableRef = useRef<HTMLTableSectionElement>(null);

  useEffect(() => setActive(0), [entity, filters.join("\n"), sort, cursor]);
  useEffect(() => {
    tableRef.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: "nearest" });
  }, [active]);

  const items = (page.data?.items ?? []) as Entity[];
  const dates = useMemo(
    () => new Set(config.columns.filter((c) => c.time && sameRelativeTimes(items.map((r) => (r as unknown as Record<string, string | null>)[c.key]))).map((c) => c.key)),
    [page.data, config], // eslint-disable-line react-hooks/exhaustive-deps
  );
  const names = page.data?.names ?? {};
  const setFilters = (f: string[]) => navigate(withQuery({ filter: f, cursor: null, offset: null }));
  const setSort = (column: string) => {
    const next = sort === column ? `-${column}` : sort === `-${column}` ? column : column;
    navigate(withQuery({ sort: next, cursor: null, offset: null }));
  };
  const next = () => {
    // While a page loads, the cursor at hand is the previous page's: wait for the new one.
    if (!page.data?.nextCursor || page.loading) return;
    const state: PagingState = { cursors: [...before, cursor ?? ""], of: page.data.nextCursor };
    navigate(withQuery({ cursor: page.data.nextCursor, offset: String(offset + items.length) }), false, state);
  };
  const prev = () => {
    // Without the earlier cursors (a shared link to page 3), "Previous" starts from the top.
    const previous = before.length ? before[before.length - 1] : "";
    const state: PagingState = { cursors: before.slice(0, -1), of: previous };
    const start = previous && before.length ? Math.max(0, offset - limit) : 0;
    navigate(withQuery({ cursor: previous || null, offset: start ? String(start) : null }), false, state);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" || e.key === "j") setActive((a) => Math.min(a + 1, items.length - 1));
    else if (e.key === "ArrowUp" || e.key === "k") setActive((a) => Math.max(a - 1, 0));
    else if (e.key === "Home") setActive(0);
    else if (e.key === "End") setActive(items.length - 1);
    else if (e.key === "Enter" && items[active]) navigate(config.open(items[active]));
    else if (e.key === "PageDown" || e.key === "n") next();
    else if ((e.key === "PageUp" || e.key === "p") && cursor) prev();
    else return;
    e.preventDefault();
  };

  const total = count.data?.total;
  return (
    <section className="view browse">
      <h1 className="sr-only">{config.title}</h1>
      <FilterInput fields={config.fields} filters={filters} onChange={setFilters} names={names} />
      {page.error && <Problem error={page.error} />}
      <div className="table-bar">
        <span className="count" data-testid="count">
          {items.length > 0 ? `${offset + 1}–${offset + items.length}` : "0"} of{" "}
          {total === undefined || total === null ? (count.error ? "?" : "…") : total.toLocaleString()} {config.title.toLowerCase()}
        </span>
        <span className="muted">↑↓ move · Enter opens {config.openLabel} · n/p page</span>
        <span className="pager">
          <button onClick={prev} disabled={!cursor || page.loading}>
            ← Previous
          </button>
          <button onClick={next} disabled={!page.data?.nextCursor || page.loading}>
            Next →
          </button>
        </span>
      </div>
      <div className="table-wrap">
        <table className={page.loading ? "data stale" : "data"} aria-label={config.title} aria-rowcount={total ?? undefined}>
          <thead>
            <tr>
              {config.columns.map((c) => {
                const state = sort === c.key ? "ascending" : sort === `-${c.key}` ? "descending" : "none";
                return (
                  <th key={c.key} aria-sort={state} scope="col">
                    <button className="sort" onClick={() => setSort(c.key)} title={`sort by ${c.key}`}>
                      {c.label}
                      <span className="arrow">{state === "ascending" ? "▲" : state === "descending" ? "▼" : "↕"}</span>
                    </button>
                  </th>
                );
              })}
              <th scope="col">Open</th>
            </tr>
          </thead>
          <tbody ref={tableRef} tabIndex={0} onKeyDown={onKey} aria-label="rows">
            {items.map((row, i) => (
              <tr key={row.id} data-index={i} data-id={row.id} className={i === active ? "active" : undefined} aria-selected={i === active}>
                {config.columns.map((c, j) => (
                  // The name is a real link (open in a new tab, copy its address); the rest of
                  // the row is text that can be selected and copied.
                  <td key={c.key} data-column={c.key}>
                    {j === 0 ? (
                      <Link to={config.open(row)} onFocus={() => setActive(i)}>
                        {c.render(row, names, dates) || shortId(row.id)}
                      </Link>
                    ) : (
                      c.render(row, names, dates)
                    )}
                  </td>
                ))}
                <td className="actions">
                  <Link to={config.open(row)}>{config.openLabel}</Link>
                  {config.actions(row).map(([label, to]) => (
                    <Link key={label} to={to}>
                      {label}
                    </Link>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.loading && !page.data && <Loading what={`Loading ${config.title.toLowerCase()}`} />}
        {!page.loading && !page.error && items.length === 0 && (
          <Empty>No {config.title.toLowerCase()} match{filters.length ? " these filters" : " yet"}.</Empty>
        )}
      </div>
    </section>
  );
}
