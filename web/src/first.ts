// The first requests of the everyday views. The view an address shows is known as soon as the
// bundle runs, so the router starts them then (`prefetch`), in parallel with the session check
// and the view's own chunk, and the view takes their answers when it is drawn instead of asking
// again. Each request is named by all of its parameters: a view that asks for something else
// than what was started gets its own answer, never another's.
import { ApiError, getArtifact, getExecution, getExperiment, getRun } from "./api/client";
import { aliasHistory, artifactsOfStep, fetchFile, firstPreview, getModel, listAliases, listFiles, listVersions, registeredAs, stepsOf } from "./api/registry";
import { compareRuns, getRunMetrics, listRunsGrid, readSeriesBuckets, type GridParams } from "./api/tracking";
import { runDag } from "./lineage";

// An answer started for the first view and not taken soon after is not used: it may be stale.
const FRESH_MS = 5_000;
const started = new Map<string, { answer: Promise<unknown>; at: number }>();
let prefetching = false;

/** Run `start` so that the requests of this module it makes are kept for the view; the
 * promises it answers are not waited for (their failures are the view's to show). */
export function prefetch(start: () => unknown): void {
  prefetching = true;
  try {
    start();
  } catch {
    // An address that the view cannot read either: the view says what is wrong with it.
  } finally {
    prefetching = false;
  }
}

function early<T>(name: unknown[], load: () => Promise<T>): Promise<T> {
  const key = JSON.stringify(name);
  if (prefetching) {
    const answer = load();
    answer.catch(() => undefined); // taken (and its failure shown) by the view
    started.set(key, { answer, at: performance.now() });
    return answer;
  }
  const hit = started.get(key);
  started.delete(key);
  if (!hit || performance.now() - hit.at > FRESH_MS) return load();
  // A request refused for want of a session (asked before signing in) is asked again.
  return (hit.answer as Promise<T>).catch((e: unknown) => {
    if (e instanceof ApiError && e.status === 401) return load();
    throw e;
  });
}

/** How many of a run's metrics its page charts, and from how many points each. */
export const RUN_CHARTS = 12;
export const SERIES_POINTS = 400;

// What a view asks for once an answer names it (an artifact's preview) is asked
// for as soon as that answer is in: the view would ask only once it is drawn, after the slowest
// of its other answers.
export const first = {
  run: (id: string) => early(["run", id], () => getRun(id)),
  runDag: (id: string) => early(["runDag", id], () => runDag(id)),
  // The charts' series come with the metrics, in one request: asking for them once the
  // metrics had named them cost a round trip more before the first chart.
  runMetrics: (id: string) => early(["runMetrics", id], () => getRunMetrics(id, RUN_CHARTS, SERIES_POINTS)),
  series: (run: string, key: string, points: number, execution?: string) =>
    early(["series", run, key, points, execution ?? null], () => readSeriesBuckets(run, key, points, execution)),
  execution: (id: string) => early(["execution", id], () => getExecution(id)),
  artifactsOfStep: (id: string, edge: "consumedBy" | "producedBy") => early(["artifactsOfStep", id, edge], () => artifactsOfStep(id, edge)),
  experiment: (id: string) => early(["experiment", id], () => getExperiment(id)),
  grid: (params: GridParams) => early(["grid", params], () => listRunsGrid(params)),
  compare: (ids: string[], metrics: string[], points: number) => early(["compare", ids, metrics, points], () => compareRuns(ids, metrics, points)),
  model: (name: string) => early(["model", name], () => getModel(name)),
  aliases: (name: string) => early(["aliases", name], () => listAliases(name)),
  aliasHistory: (name: string, alias?: string) => early(["aliasHistory", name, alias], () => aliasHistory(name, alias)),
  versions: (name: string) => early(["versions", name], () => listVersions(name)),
  artifact: (id: string) => early(["artifact", id], () => getArtifact(id)),
  registeredAs: (id: string) => early(["registeredAs", id], () => registeredAs(id)),
  stepsOf: (id: string, edge: "outputArtifact" | "inputArtifact", limit: number) => early(["stepsOf", id, edge, limit], () => stepsOf(id, edge, limit)),
  files: (id: string) =>
    early(["files", id], () =>
      listFiles(id).then((files) => {
        const shown = firstPreview(files.items);
        if (shown) prefetch(() => first.file(id, shown.path));
        return files;
      }),
    ),
  file: (artifact: string, path: string, bytes?: number) => early(["file", artifact, path, bytes ?? null], () => fetchFile(artifact, path, bytes)),
};

export const GRID_PAGE_SIZES = [50, 100, 200];

/** The runs grid's page and count as an address asks for them. */
export function gridAddress(experiment: string, query: URLSearchParams) {
  const q = query.get("q") ?? "";
  const sort = query.get("sort") ?? "-createTime";
  const cursor = query.get("cursor") ?? undefined;
  // `auto` among the columns (in any case, as the server takes it) is the automatic choice, not
  // a column's name; the columns named besides it follow the chosen ones.
  const asked = query.get("columns");
  const named = asked === null ? [] : asked.split(",").map((c) => c.trim()).filter(Boolean);
  const extra = named.filter((c) => c.toLowerCase() !== "auto");
  // No `columns` at all is the automatic choice; an empty one, no columns.
  const auto = asked === null || extra.length < named.length;
  // The columns asked for by name, besides the automatic ones where `auto` is on.
  const chosen = extra.join(",");
  const limit = Math.min(1000, Math.max(1, Math.floor(Number(query.get("limit"))) || GRID_PAGE_SIZES[0]));
  return {
    q,
    sort,
    cursor,
    chosen,
    auto,
    limit,
    page: { experiment, columns: auto ? ["auto", ...extra].join(",") : extra.join(","), q: q || undefined, sort, cursor, limit } satisfies GridParams,
    count: { experiment, q: q || undefined, limit: 1, count: true } satisfies GridParams,
  };
}

/** Which runs and metrics a comparison's address asks for; with the metrics named and x by step,
 * one request answers the comparison and their series. */
export function compareAddress(query: URLSearchParams, byStep: boolean) {
  const ids = (query.get("ids") ?? "").split(",").filter(Boolean);
  const asked = query.get("metrics");
  const wanted = asked !== null && byStep ? asked.split(",").filter(Boolean) : [];
  return { ids, asked, wanted, points: wanted.length ? 300 : 1 };
}
