// The model registry: registered models with their aliases; a model's versions with their
// metrics, data and lineage; who moved which alias when and why; and moving an alias.
import { useEffect, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { listModels, listVersions, moveAlias, type Alias, type AliasEvent, type ModelVersion, type RegisteredModel } from "../api/registry";
import { onSession, type Session } from "../auth";
import { ArtifactLink } from "../components/Details";
import { isMetricNumber, metricText, MetricValue } from "../components/MetricValue";
import { Empty, FirstProblem, Loading, Problem, StatusBadge } from "../components/Status";
import { Breadcrumbs, CopyButtons, useTitle, When } from "../context";
import { first } from "../first";
import { useAsync } from "../hooks";
import { Link, navigate, withQuery, type Location } from "../router";
import "./registry.css";

export const modelPath = (name: string) => `/models/${encodeURIComponent(name)}`;
// The page's own address with the anchor: a bare "#v3" would resolve against the document's
// <base href>, the root of the UI, and leave the page.
const versionAnchor = (version: number) => `${window.location.pathname}${window.location.search}#v${version}`;

function AliasChip({ alias, version, isProtected, model }: { alias: string; version?: number | null; isProtected: boolean; model?: string }) {
  const text = (
    <>
      {isProtected && (
        <svg className="lock" viewBox="0 0 12 14" width="10" height="12" role="img" aria-label="protected">
          <title>protected: only a deployer or an admin may move it</title>
          <path d="M3 6V4a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <rect x="1" y="6" width="10" height="7.5" rx="1.5" fill="currentColor" />
        </svg>
      )}
      {alias}
      {version !== undefined && version !== null ? <span className="to"> → v{version}</span> : null}
    </>
  );
  return (
    <span className={`alias-chip${alias === "production" ? " production" : ""}`} data-alias={alias}>
      {model && version ? <Link to={`${modelPath(model)}#v${version}`}>{text}</Link> : text}
    </span>
  );
}


function Metrics({ metrics }: { metrics?: Record<string, unknown> | null }) {
  const entries = Object.entries(metrics ?? {});
  if (!entries.length) return <span className="muted">—</span>;
  return (
    <span className="metrics">
      {entries.map(([k, v]) => (
        <span key={k} className="metric">
          {k} <code>{isMetricNumber(v) ? <MetricValue value={v} /> : JSON.stringify(v)}</code>
        </span>
      ))}
    </span>
  );
}

export function ModelList({ location }: { location: Location }) {
  const q = location.query.get("q") ?? "";
  const cursor = location.query.get("cursor") ?? undefined;
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  useTitle("models");
  const page = useAsync(() => listModels({ nameContains: q || undefined, cursor, limit: 50 }), [q, cursor]);
  const items = page.data?.items ?? [];
  return (
    <section className="view models">
      <header className="view-head">
        <h1>Models</h1>
        <form
          className="toolbar"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(withQuery({ q: text.trim() || null, cursor: null }));
          }}
        >
          <input type="search" aria-label="model name contains" placeholder="name contains…" value={text} onChange={(e) => setText(e.target.value)} />
          <button type="submit">Find</button>
          <span className="muted">Register a model with <code>modeltrail models register</code> or the SDK's <code>trail.register(...)</code>.</span>
        </form>
      </header>
      {page.error && <Problem error={page.error} />}
      {page.loading && !page.data && <Loading what="Loading the models" />}
      {page.data && items.length === 0 && <Empty>No registered models{q ? ` whose name contains “${q}”` : " yet"}.</Empty>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className={page.loading ? "data stale" : "data"} aria-label="models">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Aliases</th>
                <th scope="col">Versions</th>
                <th scope="col">Description</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {items.map((m) => (
                <tr key={m.id} data-model={m.name}>
                  <td>
                    <Link to={modelPath(m.name)}>{m.name}</Link>
                  </td>
                  <td className="wrap">
                    {Object.entries(m.aliases).length ? (
                      Object.entries(m.aliases)
                        .sort()
                        .map(([a, v]) => <AliasChip key={a} alias={a} version={v} model={m.name} isProtected={(m.protectedAliases ?? []).includes(a)} />)
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                  <td>
                    {m.versions} {m.latestVersion ? <span className="muted">(latest v{m.latestVersion})</span> : null}
                  </td>
                  <td>{m.description ?? <span className="muted">—</span>}</td>
                  <td>
                    <When value={m.updateTime} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="table-bar">
        <span className="pager">
          <button onClick={() => history.back()} disabled={!cursor}>
            ← Previous
          </button>
          <button onClick={() => page.data?.nextCursor && navigate(withQuery({ cursor: page.data.nextCursor }))} disabled={!page.data?.nextCursor}>
            Next →
          </button>
        </span>
      </div>
    </section>
  );
}

function useSession(): Session | undefined {
  const [session, setSession] = useState<Session>();
  useEffect(() => onSession(setSession), []);
  return session;
}

/** Whether this tab may move a protected alias: a server without access control lets anyone,
 * otherwise the token needs the deployer or admin role. Unknown until the session is checked. */
function mayDeploy(session: Session | undefined): boolean {
  if (session === undefined || session.state === "open") return true;
  return session.state === "signed-in" && (session.principal.role === "deployer" || session.principal.role === "admin");
}

function MoveAlias({
  model,
  versions,
  aliases,
  preset,
  onMoved,
}: {
  model: RegisteredModel;
  versions: ModelVersion[];
  aliases: Alias[];
  preset: { alias?: string; version?: number; tick: number };
  onMoved: (a: Alias) => void;
}) {
  const [alias, setAlias] = useState(preset.alias ?? aliases[0]?.alias ?? "production");
  const [version, setVersion] = useState<number>(preset.version ?? versions[0]?.version ?? 1);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<Alias>();
  const session = useSession();
  useEffect(() => {
    if (preset.alias) setAlias(preset.alias);
    if (preset.version) setVersion(preset.version);
  }, [preset.tick]); // eslint-disable-line react-hooks/exhaustive-deps
  const current = aliases.find((a) => a.alias === alias);
  const isProtected = current?.protected ?? false;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const moved = await moveAlias(model.name, alias.trim(), version, reason.trim());
      setDone(moved);
      setReason("");
      onMoved(moved);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, { detail: String(err) }));
    } finally {
      setBusy(false);
    }
  };
  const who = session?.state === "signed-in" ? `${session.principal.name} (role ${session.principal.role ?? "per experiment"})` : undefined;
  return (
    <form className="move-alias" onSubmit={(e) => void submit(e)} aria-label="move an alias">
      <h3>Move an alias</h3>
      <div className="toolbar">
        <label>
          alias{" "}
          <input list="alias-names" value={alias} onChange={(e) => setAlias(e.target.value)} aria-label="alias" required size={14} />
        </label>
        <datalist id="alias-names">
          {aliases.map((a) => (
            <option key={a.alias} value={a.alias} />
          ))}
        </datalist>
        <label>
          to version{" "}
          <select value={version} onChange={(e) => setVersion(Number(e.target.value))} aria-label="version">
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version} — {v.run?.name ?? v.artifact.name}
                {v.metrics && Object.keys(v.metrics).length
                  ? ` (${Object.entries(v.metrics)
                      .slice(0, 2)
                      .map(([k, x]) => `${k} ${metricText(x)}`)
                      .join(", ")})`
                  : ""}
                {v.aliases?.length ? ` [${v.aliases.join(", ")}]` : ""}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          reason <input value={reason} onChange={(e) => setReason(e.target.value)} aria-label="reason" placeholder="why it moves (kept in the history)" />
        </label>
        <button type="submit" disabled={busy || !alias.trim()}>
          {busy ? "Moving…" : "Move alias"}
        </button>
      </div>
      <div className="muted small">
        {current ? (
          <>
            “{alias}” points at {current.version ? `v${current.version}` : "nothing"} now.{" "}
          </>
        ) : (
          alias.trim() && <>“{alias}” is new: it will be set. </>
        )}
        {isProtected && !mayDeploy(session) && <>It is protected: moving it needs a token with the deployer role (or admin).</>}
      </div>
      {done && (
        <div className="state ok" role="status">
          Moved “{done.alias}” to v{done.version}.
        </div>
      )}
      {error && (
        <>
          <Problem error={error} />
          {error.status === 403 && (
            <p className="problem-hint" data-testid="forbidden-hint">
              Only a token with the <strong>deployer</strong> role or an admin may move the protected alias “{alias}”.
              {who ? ` You are signed in as ${who}.` : ""} Ask a deployer, or sign in with a deployer's token.
            </p>
          )}
        </>
      )}
    </form>
  );
}

function describe(e: AliasEvent): string {
  const from = e.fromVersion ? `v${e.fromVersion}` : "nothing";
  const to = e.toVersion ? `v${e.toVersion}` : "nothing";
  switch (e.action) {
    case "protect":
      return "protected";
    case "unprotect":
      return "protection lifted";
    case "remove":
      return `removed (was ${from})`;
    default:
      return `${from} → ${to}`;
  }
}

export function ModelPage({ name, location }: { name: string; location: Location }) {
  const [tick, setTick] = useState(0);
  const aliasFilter = location.query.get("alias");
  const model = useAsync(() => first.model(name), [name, tick]);
  const aliases = useAsync(() => first.aliases(name), [name, tick]);
  const history = useAsync(() => first.aliasHistory(name, aliasFilter ?? undefined), [name, aliasFilter, tick]);
  const [versions, setVersions] = useState<ModelVersion[]>([]);
  const [more, setMore] = useState<string | null>(null);
  const firstPage = useAsync(() => first.versions(name), [name, tick]);
  const [preset, setPreset] = useState<{ alias?: string; version?: number; tick: number }>({ tick: 0 });
  useTitle(name, "model");
  useEffect(() => {
    if (firstPage.data) {
      setVersions(firstPage.data.items);
      setMore(firstPage.data.nextCursor ?? null);
    }
  }, [firstPage.data]);
  useEffect(() => {
    // A link to #v3 scrolls to that version once the versions are drawn.
    const target = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
    target?.scrollIntoView({ block: "center" });
  }, [versions.length]);
  const loadMore = async () => {
    if (!more) return;
    const page = await listVersions(name, more);
    setVersions((v) => [...v, ...page.items]);
    setMore(page.nextCursor ?? null);
  };
  if (model.error) return <Problem error={model.error} />;
  if (!model.data) return <Loading what="Loading the model" />;
  const m = model.data;
  const byVersion = new Map(versions.map((v) => [v.version, v]));
  const aliasNames = [...new Set([...(aliases.data ?? []).map((a) => a.alias), ...(history.data ?? []).map((e) => e.alias)])].sort();
  return (
    <section className="view model-page">
      <header className="view-head">
        <Breadcrumbs items={[{ label: "models", to: "/models" }, { label: m.name }]} />
        <h1>
          {m.name} <span className="muted">{m.versions} version(s)</span> <CopyButtons id={m.id} />
        </h1>
        {m.description && <p>{m.description}</p>}
        <div className="toolbar">
          {Object.entries(m.tags).map(([k, v]) => (
            <span key={k} className="badge">
              {k}={v}
            </span>
          ))}
          <span className="muted">
            registered <When value={m.createTime} />
            {m.createdBy ? ` by ${m.createdBy.name}` : ""}
          </span>
        </div>
      </header>
      <FirstProblem errors={[aliases.error, firstPage.error, history.error]} />
      <div className="columns">
        <div className="card">
          <h2>Aliases</h2>
          {aliases.data && aliases.data.length === 0 && <Empty>No aliases yet: set one below (for example “production”).</Empty>}
          {aliases.data && aliases.data.length > 0 && (
            <table className="data" aria-label="aliases">
              <thead>
                <tr>
                  <th scope="col">Alias</th>
                  <th scope="col">Points at</th>
                  <th scope="col">Moved</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {aliases.data.map((a) => (
                  <tr key={a.alias} data-alias={a.alias}>
                    <td>
                      <AliasChip alias={a.alias} isProtected={a.protected} />
                    </td>
                    <td>{a.version ? <a href={versionAnchor(a.version)}>v{a.version}</a> : <span className="muted">nothing</span>}</td>
                    <td>
                      <When value={a.updateTime} />
                      {a.updatedBy ? ` by ${a.updatedBy.name}` : ""}
                    </td>
                    <td className="wrap">{a.reason ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {versions.length > 0 && aliases.data && (
            <MoveAlias
              model={m}
              versions={versions}
              aliases={aliases.data}
              preset={preset}
              onMoved={() => {
                setTick((t) => t + 1);
              }}
            />
          )}
        </div>
        <div className="card">
          <h2>Alias history</h2>
          <div className="toolbar">
            <label>
              alias{" "}
              <select aria-label="history of alias" value={aliasFilter ?? ""} onChange={(e) => navigate(withQuery({ alias: e.target.value || null }), true)}>
                <option value="">all</option>
                {aliasNames.map((a) => (
                  <option key={a} value={a}>
                    {a}
                  </option>
                ))}
              </select>
            </label>
          </div>
          {history.data && history.data.length === 0 && <Empty>No alias was ever set.</Empty>}
          {history.data && history.data.length > 0 && (
            <table className="data" aria-label="alias history">
              <thead>
                <tr>
                  <th scope="col">Alias</th>
                  <th scope="col">Change</th>
                  <th scope="col">Who</th>
                  <th scope="col">When</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {history.data.map((e) => (
                  <tr key={e.id} data-action={e.action}>
                    <td>{e.alias}</td>
                    <td>{describe(e)}</td>
                    <td>
                      {e.actor?.name ?? (
                        <span className="muted" title="no one was signed in: made on a server without sign-in, or on its database directly">
                          —
                        </span>
                      )}
                    </td>
                    <td>
                      <When value={e.time} />
                    </td>
                    <td className="wrap">{e.reason ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <div className="card">
        <h2>Versions</h2>
        {firstPage.loading && !firstPage.data && <Loading what="Loading the versions" />}
        {firstPage.data && versions.length === 0 && <Empty>No versions yet.</Empty>}
        {versions.length > 0 && (
          <div className="table-wrap">
            <table className="data versions" aria-label="versions">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Model artifact</th>
                  <th scope="col">Made by run</th>
                  <th scope="col">Metrics</th>
                  <th scope="col">Data</th>
                  <th scope="col">Registered</th>
                  <th scope="col">Lineage</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => {
                  const previous = byVersion.get(v.version - 1);
                  return (
                    <tr key={v.version} id={`v${v.version}`} data-version={v.version}>
                      <td>
                        <strong>v{v.version}</strong>
                      </td>
                      <td className="wrap">
                        {(v.aliases ?? []).map((a) => (
                          <AliasChip key={a} alias={a} isProtected={(m.protectedAliases ?? []).includes(a)} />
                        ))}
                        <button
                          type="button"
                          className="link-button"
                          onClick={() => {
                            setPreset((p) => ({ alias: p.alias ?? aliases.data?.[0]?.alias, version: v.version, tick: p.tick + 1 }));
                            document.querySelector<HTMLFormElement>("form.move-alias")?.scrollIntoView({ block: "center" });
                          }}
                        >
                          point an alias here
                        </button>
                      </td>
                      <td>
                        <ArtifactLink id={v.artifact.id}>{v.artifact.name}</ArtifactLink> <span className="muted">{v.artifact.kind}</span>
                      </td>
                      <td>
                        {v.run ? (
                          <>
                            <Link to={`/runs/${v.run.id}`}>{v.run.name}</Link> <StatusBadge status={v.run.status} />
                          </>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                      <td className="wrap">
                        <Metrics metrics={v.metrics} />
                      </td>
                      <td className="wrap">
                        {v.inputs?.length ? (
                          v.inputs.map((i) => (
                            <span key={i.id} className="input">
                              <ArtifactLink id={i.id}>{i.name}</ArtifactLink>
                            </span>
                          ))
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                      <td>
                        <When value={v.createTime} />
                        {v.createdBy ? ` by ${v.createdBy.name}` : ""}
                      </td>
                      <td className="actions">
                        <Link to={`/artifacts/${v.artifact.id}/lineage`}>lineage</Link>
                        {previous && <Link to={`/compare?a=${v.artifact.id}&b=${previous.artifact.id}`}>why vs v{previous.version}</Link>}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {more && (
          <button type="button" onClick={() => void loadMore()}>
            More versions
          </button>
        )}
      </div>
    </section>
  );
}
