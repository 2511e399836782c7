// FR7: the runs of an experiment with what triggered them, how they ended and the first step
// that failed; optionally only the runs since the last deployment.
import { getExperiment } from "../api/client";
import { Empty, FirstProblem, Loading, StatusBadge } from "../components/Status";
import { formatTime, useAsync } from "../hooks";
import { ExperimentCrumbs } from "../components/Crumbs";
import { sameRelativeTimes, useTitle, When } from "../context";
import { runHistory } from "../lineage";
import { Link, navigate, withQuery, type Location } from "../router";

const PAGE_SIZE = 50;

export function History({ id, location }: { id: string; location: Location }) {
  const since = location.query.get("sinceLastDeploy") === "true";
  const cause = location.query.get("cause");
  const experiment = useAsync(() => getExperiment(id), [id]);
  const history = useAsync(() => runHistory(id, since), [id, since]);
  useTitle("run history", experiment.data?.name);
  const all = history.data?.rows ?? [];
  const failed = all.filter((r) => r.status === "FAILED").length;
  // The server answers every run at once; the table shows them a page at a time, the page and
  // the cause chosen kept in the address.
  const matching = cause === null ? all : all.filter((r) => (r.cause ?? "unknown") === cause);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const pageNumber = Math.min(pages, Math.max(1, Number(location.query.get("page")) || 1));
  const rows = matching.slice((pageNumber - 1) * PAGE_SIZE, pageNumber * PAGE_SIZE);
  // "5 weeks ago" on most rows tells them apart no better than no time: then dates.
  const dates = sameRelativeTimes(rows.map((r) => r.createTime));
  const counts = Object.entries(history.data?.countsByCause ?? {}).sort((x, y) => y[1] - x[1]);
  const last = history.data?.lastDeployment;
  const deployment = !last
    ? undefined
    : last.type === "alias"
      ? `“${last.alias}” of ${last.model} moved to v${last.version}${last.run ? ` (made by run ${last.run})` : ""} on ${formatTime(last.time)}`
      : `the deployment by run ${last.run} of ${formatTime(last.time)}`;
  const goTo = (n: number) => navigate(withQuery({ page: n > 1 ? String(n) : null }));
  return (
    <section className="view">
      <header className="view-head">
        <ExperimentCrumbs id={id} here="run history" />
        <h1>Run history of {experiment.data?.name ?? "experiment"}</h1>
        <div className="toolbar">
          <label>
            <input type="checkbox" checked={since} onChange={(e) => navigate(withQuery({ sinceLastDeploy: e.target.checked ? "true" : null, page: null, cause: null }))} /> since the last deployment
          </label>
          {history.data && (
            <span className="muted">
              {all.length} run(s), {failed} failed
              {since ? (deployment ? ` since ${deployment}` : " (no deployment recorded: showing every run)") : ""}
            </span>
          )}
          <Link to={`/experiments/${id}/trace`}>trace</Link>
        </div>
      </header>
      <FirstProblem errors={[experiment.error, history.error]} />
      {history.loading && !history.data && <Loading what="Loading the run history" />}
      {counts.length > 0 && (
        <div className="toolbar" role="group" aria-label="runs by cause">
          <span className="muted">triggered by</span>
          {counts.map(([c, n]) => (
            <button key={c} type="button" aria-pressed={cause === c} onClick={() => navigate(withQuery({ cause: cause === c ? null : c, page: null }))}>
              {c} <span className="count-badge">{n.toLocaleString()}</span>
            </button>
          ))}
        </div>
      )}
      {history.data && rows.length === 0 && <Empty>No runs{since ? " since the last deployment" : ""}{cause !== null ? ` triggered by ${cause}` : ""}.</Empty>}
      {matching.length > PAGE_SIZE && (
        <div className="table-bar">
          <span className="count" data-testid="history-count">
            {(pageNumber - 1) * PAGE_SIZE + 1}–{(pageNumber - 1) * PAGE_SIZE + rows.length} of {matching.length.toLocaleString()} runs
          </span>
          <span className="pager">
            <button onClick={() => goTo(pageNumber - 1)} disabled={pageNumber <= 1}>
              ← Previous
            </button>
            <button onClick={() => goTo(pageNumber + 1)} disabled={pageNumber >= pages}>
              Next →
            </button>
          </span>
        </div>
      )}
      {rows.length > 0 && (
        <table className="data" aria-label="run history">
          <thead>
            <tr>
              <th>Run</th>
              <th>Started</th>
              <th>Triggered by</th>
              <th>Status</th>
              <th>First failed step</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((run) => (
              <tr key={run.id}>
                <td>
                  <Link to={`/runs/${run.id}`}>{run.name}</Link>
                </td>
                <td>
                  <When value={run.createTime} absolute={dates} />
                </td>
                <td>{run.cause ?? <span className="muted">unknown</span>}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>
                  {run.firstFailed ? (
                    <Link to={run.firstFailedId ? `/executions/${run.firstFailedId}` : `/runs/${run.id}`}>{run.firstFailed}</Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
