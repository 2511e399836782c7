// FR7: the runs of an experiment with what triggered them, how they ended and the first step
// that failed; optionally only the runs since the last deployment.
import { getExperiment } from "../api/client";
import { Empty, Loading, Problem, StatusBadge } from "../components/Status";
import { formatTime, useAsync } from "../hooks";
import { runHistory } from "../lineage";
import { Link, navigate, withQuery, type Location } from "../router";

export function History({ id, location }: { id: string; location: Location }) {
  const since = location.query.get("sinceLastDeploy") === "true";
  const experiment = useAsync(() => getExperiment(id), [id]);
  const history = useAsync(() => runHistory(id, since), [id, since]);
  const rows = history.data?.rows ?? [];
  const failed = rows.filter((r) => r.status === "FAILED").length;
  return (
    <section className="view">
      <header className="view-head">
        <h1>Run history of {experiment.data?.name ?? "experiment"}</h1>
        <div className="toolbar">
          <label>
            <input type="checkbox" checked={since} onChange={(e) => navigate(withQuery({ sinceLastDeploy: e.target.checked ? "true" : null }))} /> since the last deployment
          </label>
          {history.data && (
            <span className="muted">
              {rows.length} run(s), {failed} failed
              {since ? (history.data.deployedAt ? ` since the deployment of ${formatTime(history.data.deployedAt)}` : " (no deployment recorded: showing every run)") : ""}
            </span>
          )}
          <Link to={`/experiments/${id}/trace`}>trace</Link>
        </div>
      </header>
      {experiment.error && <Problem error={experiment.error} />}
      {history.error && <Problem error={history.error} />}
      {history.loading && !history.data && <Loading what="Loading the run history" />}
      {history.data && rows.length === 0 && <Empty>No runs{since ? " since the last deployment" : ""}.</Empty>}
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
                <td>{formatTime(run.createTime)}</td>
                <td>{run.cause ?? <span className="muted">unknown</span>}</td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{run.firstFailed ? <Link to={`/runs/${run.id}`}>{run.firstFailed}</Link> : <span className="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
