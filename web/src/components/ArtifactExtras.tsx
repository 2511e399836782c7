// What the artifact page adds around the attributes: where the artifact came from and who read
// it (by name, as links), the context to get back up (experiment › run › step › artifact), and
// the files it carries, with a preview of the small ones.
import { useEffect, useState } from "react";
import "../views/registry.css";
import { ApiError, getExperiment, getRun, type Artifact, type Execution, type Experiment, type Run } from "../api/client";
import { TEXT_PREVIEW, artifactById, fetchFile, fileLink, fileUrl, firstPreview, previewable, type ArtifactFile } from "../api/registry";
import { storedToken } from "../auth";
import { Breadcrumbs, type Crumb } from "../context";
import { first } from "../first";
import { formatBytes } from "../api/tracking";
import { useAsync } from "../hooks";
import { Link } from "../router";
import { Empty, Loading, Problem, StatusBadge } from "./Status";

/** An artifact's name for its id, asked for once per page load; the short id until it is known. */
export function ArtifactName({ id }: { id: string }) {
  const [name, setName] = useState<string>();
  useEffect(() => {
    let live = true;
    artifactById(id).then(
      (a) => live && setName(`${a.name}${a.kind ? ` (${a.kind})` : ""}`),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [id]);
  return name ? <span title={id}>{name}</span> : <code title={id}>{id.slice(0, 8)}</code>;
}

interface Provenance {
  producer?: Execution;
  run?: Run;
  experiment?: Experiment;
  readers: Execution[];
  moreReaders: boolean;
  runs: Map<string, Run>;
}

async function loadProvenance(artifact: string): Promise<Provenance> {
  const [made, read] = await Promise.all([first.stepsOf(artifact, "outputArtifact", 1), first.stepsOf(artifact, "inputArtifact", 20)]);
  const producer = made.items[0];
  const runIds = [...new Set([producer?.run, ...read.items.map((e) => e.run)].filter((r): r is string => Boolean(r)))];
  const runs = new Map<string, Run>();
  await Promise.all(runIds.map((id) => getRun(id).then((r) => runs.set(id, r), () => undefined)));
  const run = producer?.run ? runs.get(producer.run) : undefined;
  const experiment = run?.experiment ? await getExperiment(run.experiment).catch(() => undefined) : undefined;
  return { producer, run, experiment, readers: read.items, moreReaders: read.more, runs };
}

const stepPath = (e: Execution) => `/executions/${e.id}`;

/** The artifact's context and provenance: breadcrumbs and "produced by step X of run Y", "read by".
 * It needs only the artifact's id, so that it is asked for with the artifact, not after it. */
export function useProvenance(artifact: string) {
  return useAsync(() => loadProvenance(artifact), [artifact]);
}

/** The files an artifact carries, asked for by its id (with the artifact, not after it). */
export function useFiles(artifact: string) {
  return useAsync(() => first.files(artifact), [artifact]);
}

/** The registry's versions an artifact is, asked for by its id (with the artifact, not after it). */
export function useRegistrations(artifact: string) {
  return useAsync(() => first.registeredAs(artifact), [artifact]);
}

const modelPath = (name: string) => `/models/${encodeURIComponent(name)}`;

/** "digits-classifier v3" with the aliases that point at it, each a link to the model's page;
 * nothing for an artifact that is no model's version. */
export function RegisteredAs({ registrations }: { registrations: ReturnType<typeof useRegistrations> }) {
  const versions = registrations.data ?? [];
  if (registrations.error) return <Problem error={registrations.error} />;
  if (versions.length === 0) return null;
  return (
    <div className="registered-as" data-testid="registered-as">
      <span className="muted">registered as</span>
      {versions.map((v) => (
        <span key={v.id} className="registration" data-model={v.model} data-version={v.version}>
          <Link to={`${modelPath(v.model)}#v${v.version}`} className="model-version">
            {v.model} v{v.version}
          </Link>
          {(v.aliases ?? []).map((alias) => (
            <span key={alias} className={`alias-chip${alias === "production" ? " production" : ""}`} data-alias={alias}>
              <Link to={`${modelPath(v.model)}?alias=${encodeURIComponent(alias)}`} title={`the history of ${alias}`}>
                {alias}
              </Link>
            </span>
          ))}
        </span>
      ))}
    </div>
  );
}

export function ArtifactCrumbs({ artifact, provenance }: { artifact: Artifact; provenance?: Provenance }) {
  const items: Crumb[] = [];
  if (provenance?.experiment) items.push({ label: provenance.experiment.name, to: `/experiments/${provenance.experiment.id}/runs` });
  if (provenance?.run) items.push({ label: provenance.run.name, to: `/runs/${provenance.run.id}` });
  if (provenance?.producer) items.push({ label: provenance.producer.name, to: stepPath(provenance.producer) });
  if (!items.length) items.push({ label: "artifacts", to: "/artifacts" });
  items.push({ label: artifact.name });
  return <Breadcrumbs items={items} />;
}

export function ProvenanceCard({ artifact, provenance }: { artifact: Artifact; provenance: ReturnType<typeof useProvenance> }) {
  const p = provenance.data;
  const runName = (id?: string | null) => (id ? (p?.runs.get(id)?.name ?? id.slice(0, 8)) : undefined);
  return (
    <div className="card" data-testid="provenance">
      <h2>Where it comes from, where it goes</h2>
      {provenance.error && <Problem error={provenance.error} />}
      {provenance.loading && !p && <Loading what="Following its steps" />}
      {p && (
        <dl className="provenance">
          <dt>produced by</dt>
          <dd data-testid="produced-by">
            {p.producer ? (
              <>
                step <Link to={stepPath(p.producer)}>{p.producer.name}</Link> <StatusBadge status={p.producer.status} />
                {p.producer.run && (
                  <>
                    {" "}
                    of run <Link to={`/runs/${p.producer.run}`}>{runName(p.producer.run)}</Link>
                  </>
                )}
                {p.experiment && (
                  <>
                    {" "}
                    in <Link to={`/experiments/${p.experiment.id}/runs`}>{p.experiment.name}</Link>
                  </>
                )}
              </>
            ) : (
              <span className="muted">no recorded step (logged directly)</span>
            )}
          </dd>
          <dt>read by</dt>
          <dd data-testid="read-by">
            {p.readers.length === 0 ? (
              <span className="muted">no step yet</span>
            ) : (
              <ul className="plain">
                {p.readers.map((e) => (
                  <li key={e.id}>
                    step <Link to={stepPath(e)}>{e.name}</Link>
                    {e.run && (
                      <>
                        {" "}
                        of run <Link to={`/runs/${e.run}`}>{runName(e.run)}</Link>
                      </>
                    )}
                  </li>
                ))}
                {p.moreReaders && (
                  <li>
                    <Link to={`/executions?filter=${encodeURIComponent(`inputArtifact:eq:${artifact.id}`)}`}>every step that read it…</Link>
                  </li>
                )}
              </ul>
            )}
          </dd>
        </dl>
      )}
    </div>
  );
}

const CSV_ROWS = 20;

function splitCsv(line: string, sep: string): string[] {
  const out: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) out.push(cell), (cell = "");
    else cell += c;
  }
  out.push(cell);
  return out;
}

function Preview({ artifact, file }: { artifact: string; file: ArtifactFile }) {
  const kind = previewable(file);
  const [url, setUrl] = useState<string>();
  const content = useAsync(async () => {
    if (kind === "image") {
      // The file is served as a download (never rendered on the UI's origin), so the image is
      // fetched and shown from memory.
      const blob = await first.file(artifact, file.path);
      return { image: URL.createObjectURL(new Blob([blob], { type: `image/${file.path.split(".").pop()!.toLowerCase().replace("jpg", "jpeg")}` })) };
    }
    const blob = await first.file(artifact, file.path, file.size > TEXT_PREVIEW ? TEXT_PREVIEW : undefined);
    return { text: await blob.text(), cut: file.size > TEXT_PREVIEW };
  }, [artifact, file.path, file.sha256]);
  useEffect(() => {
    setUrl(content.data?.image);
    const made = content.data?.image;
    return () => {
      if (made) URL.revokeObjectURL(made);
    };
  }, [content.data]);
  if (content.error) return <Problem error={content.error} />;
  if (!content.data) return <Loading what={`Reading ${file.path}`} />;
  if (url) return <img src={url} alt={`preview of ${file.path}`} />;
  let text = content.data.text ?? "";
  const cut = content.data.cut;
  if (/\.(csv|tsv)$/i.test(file.path)) {
    const sep = /\.tsv$/i.test(file.path) ? "\t" : ",";
    const lines = text.split(/\r?\n/).filter((l) => l.length);
    if (cut) lines.pop(); // the last line may be cut in the middle
    const [head, ...rows] = lines.map((l) => splitCsv(l, sep));
    return (
      <table className="data" aria-label={`first rows of ${file.path}`}>
        <thead>
          <tr>{head?.map((h, i) => <th key={i}>{h}</th>)}</tr>
        </thead>
        <tbody>
          {rows.slice(0, CSV_ROWS).map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j}>{c}</td>
              ))}
            </tr>
          ))}
        </tbody>
        {(rows.length > CSV_ROWS || cut) && (
          <caption className="muted small">the first {Math.min(rows.length, CSV_ROWS)} rows</caption>
        )}
      </table>
    );
  }
  if (/\.json$/i.test(file.path) && !cut) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* shown as it is */
    }
  }
  return (
    <pre data-testid="text-preview">
      {text}
      {cut ? `\n… (the first ${formatBytes(TEXT_PREVIEW)} of ${formatBytes(file.size)})` : ""}
    </pre>
  );
}

// From this size on, a download on a server that asks for a token goes to object storage by a
// presigned link (the browser streams it to disk) rather than through a copy in memory.
export const LARGE_DOWNLOAD = 16 * 1024 * 1024;

function save(href: string, name: string) {
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  a.click();
}

async function downloadGuarded(artifact: string, file: ArtifactFile): Promise<void> {
  const name = file.path.split("/").pop() ?? "file";
  if (file.size >= LARGE_DOWNLOAD) {
    // The link's answer names the file (Content-Disposition), as `download` cannot across origins.
    const link = await fileLink(artifact, file.path);
    if (link) return save(link, name);
  }
  // A small file, or a server that keeps its files in a local directory: through memory.
  const url = URL.createObjectURL(await fetchFile(artifact, file.path));
  save(url, name);
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function FilesCard({ artifact, files }: { artifact: string; files: ReturnType<typeof useFiles> }) {
  const [open, setOpen] = useState<string>();
  const [failed, setFailed] = useState<ApiError>();
  const items = files.data?.items ?? [];
  useEffect(() => {
    // The first small file that can be read is shown at once.
    setOpen((o) => o ?? firstPreview(items)?.path);
  }, [files.data]); // eslint-disable-line react-hooks/exhaustive-deps
  const shown = items.find((f) => f.path === open);
  return (
    <div className="card files-card">
      <h2>
        Files{" "}
        {files.data && items.length > 0 && (
          <span className="muted small">
            {items.length} file(s), {formatBytes(files.data.totalSize)}
          </span>
        )}
      </h2>
      {files.error && <Problem error={files.error} />}
      {failed && <Problem error={failed} />}
      {files.loading && !files.data && <Loading what="Listing its files" />}
      {files.data && items.length === 0 && <Empty>No files: this artifact records where its content is (its storage URI), not the content.</Empty>}
      {items.length > 0 && (
        <table className="data files" aria-label="files">
          <thead>
            <tr>
              <th scope="col">Path</th>
              <th scope="col">Size</th>
              <th scope="col">sha256</th>
              <th scope="col"></th>
            </tr>
          </thead>
          <tbody>
            {items.map((f) => (
              <tr key={f.path} data-path={f.path} aria-current={f.path === open ? "true" : undefined}>
                <td className="path" title={f.path}>
                  {previewable(f) ? (
                    <button type="button" className="link-button" aria-pressed={f.path === open} onClick={() => setOpen(f.path)}>
                      {f.path}
                    </button>
                  ) : (
                    f.path
                  )}
                </td>
                <td className="size" title={`${f.size.toLocaleString()} bytes`}>
                  {formatBytes(f.size)}
                </td>
                <td>
                  <code title={f.sha256}>{f.sha256.slice(0, 12)}</code>
                </td>
                <td>
                  <a
                    href={fileUrl(artifact, f.path)}
                    download={f.path.split("/").pop()}
                    onClick={(e) => {
                      // A link cannot send the sign-in token: with one, the file is fetched first.
                      if (!storedToken()) return;
                      e.preventDefault();
                      setFailed(undefined);
                      void downloadGuarded(artifact, f).catch((err) => setFailed(err instanceof ApiError ? err : new ApiError(0, { detail: String(err) })));
                    }}
                  >
                    download
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown && (
        <div className="preview" data-testid="preview" aria-label={`preview of ${shown.path}`}>
          <Preview key={shown.path} artifact={artifact} file={shown} />
        </div>
      )}
    </div>
  );
}
