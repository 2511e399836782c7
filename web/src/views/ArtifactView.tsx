// Artifact detail for every kind: the kind's JSON Schema decides how attributes are shown, so a
// newly registered kind needs no UI change. Numeric series (a validation's accuracy history)
// and numeric attributes over earlier versions (a metric over runs) are drawn as line charts.
import type { ReactNode } from "react";
import { getKind, listEntities, type Artifact } from "../api/client";
import { ArtifactLink, KeyValues, Value } from "../components/Details";
import { LineChart, type Point } from "../components/LineChart";
import { Loading, Problem } from "../components/Status";
import { ArtifactCrumbs, FilesCard, ProvenanceCard, RegisteredAs, useFiles, useProvenance, useRegistrations } from "../components/ArtifactExtras";
import { CopyButtons, useTitle, When } from "../context";
import { first } from "../first";
import { useAsync } from "../hooks";
import { Link } from "../router";

type Schema = {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  items?: Schema;
  "x-artifact-reference"?: boolean;
};

const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");

function AttributeValue({ schema, value }: { schema?: Schema; value: unknown }): ReactNode {
  if (schema?.["x-artifact-reference"] && typeof value === "string") return <ArtifactLink id={value} />;
  if (schema?.enum && (typeof value === "string" || typeof value === "number")) {
    return <span className={`badge value-${String(value).toLowerCase()}`}>{String(value)}</span>;
  }
  if (schema?.properties && value && typeof value === "object" && !Array.isArray(value)) {
    return <Attributes schema={schema} values={value as Record<string, unknown>} />;
  }
  if (isNumberArray(value)) return <code>{value.join(", ")}</code>;
  return <Value value={value} />;
}

function Attributes({ schema, values }: { schema: Schema; values: Record<string, unknown> }) {
  const props = schema.properties ?? {};
  const known = Object.keys(props).filter((k) => k in values);
  const missing = Object.keys(props).filter((k) => !(k in values));
  const extra = Object.keys(values).filter((k) => !(k in props));
  return (
    <dl className="kv attributes">
      {known.map((k) => (
        <div className="kv-row" key={k} data-attribute={k}>
          <dt title={props[k].description}>
            {props[k].title ?? k}
            {props[k].description && <div className="muted small">{props[k].description}</div>}
          </dt>
          <dd>
            <AttributeValue schema={props[k]} value={values[k]} />
          </dd>
        </div>
      ))}
      {extra.map((k) => (
        <div className="kv-row" key={k} data-attribute={k}>
          <dt>
            {k} <span className="muted small">(not in the schema)</span>
          </dt>
          <dd>
            <Value value={values[k]} />
          </dd>
        </div>
      ))}
      {missing.length > 0 && <div className="muted small">not set: {missing.join(", ")}</div>}
    </dl>
  );
}

const VERSIONS = 200;

/** The newest versions of the same name and kind, oldest first; when the artifact shown is
 * older than all of them, the versions up to it instead, so that the charts always hold it. */
async function versionsAround(artifact: Artifact): Promise<Artifact[]> {
  const same = [`name:eq:${artifact.name}`, `kind:eq:${artifact.kind}`];
  const newest = (await listEntities("artifacts", { filter: same, sort: "-createTime", limit: VERSIONS })).items as Artifact[];
  if (newest.some((v) => v.id === artifact.id)) return newest.reverse();
  const upTo = (await listEntities("artifacts", { filter: [...same, `createTime:le:${artifact.createTime}`], sort: "-createTime", limit: VERSIONS })).items as Artifact[];
  return upTo.reverse();
}

async function loadDetail(id: string) {
  const artifact = await first.artifact(id);
  const [kind, siblings] = await Promise.all([
    getKind(artifact.kind).catch(() => undefined),
    versionsAround(artifact),
  ]);
  return { artifact, kind, siblings };
}

export function ArtifactView({ id }: { id: string }) {
  const detail = useAsync(() => loadDetail(id), [id]);
  // Where it comes from and its files need only the id: asked with the artifact, not after it.
  const provenance = useProvenance(id);
  const files = useFiles(id);
  const registrations = useRegistrations(id);
  useTitle(detail.data?.artifact.name, detail.data ? detail.data.artifact.kind : "artifact");
  if (detail.error) return <Problem error={detail.error} />;
  if (!detail.data) return <Loading what="Loading the artifact" />;
  return <ArtifactDetail {...detail.data} provenance={provenance} files={files} registrations={registrations} />;
}

type DetailProps = Awaited<ReturnType<typeof loadDetail>> & {
  provenance: ReturnType<typeof useProvenance>;
  files: ReturnType<typeof useFiles>;
  registrations: ReturnType<typeof useRegistrations>;
};

function ArtifactDetail({ artifact: a, kind, siblings, provenance, files, registrations }: DetailProps) {
  const schema = (kind?.schema ?? {}) as Schema;
  const series = Object.entries(a.attributes).filter(([, v]) => isNumberArray(v)) as [string, number[]][];
  const scalars = Object.entries(a.attributes).filter(([, v]) => typeof v === "number").map(([k]) => k);
  const overRuns = scalars
    .map((k) => ({
      key: k,
      points: siblings
        .filter((s) => typeof s.attributes[k] === "number")
        .map((s): Point => ({ label: `v${s.version}`, value: s.attributes[k] as number, current: s.id === a.id, x: new Date(s.createTime).getTime() })),
    }))
    .filter((s) => s.points.length > 1);

  return (
    <section className="view artifact-view">
      <header className="view-head">
        <ArtifactCrumbs artifact={a} provenance={provenance.data} />
        <h1>
          {a.name} <span className="badge">{a.kind}</span> <span className="muted">version {a.version}</span> <CopyButtons id={a.id} />
        </h1>
        <div className="muted">
          created <When value={a.createTime} /> · <Link to={`/artifacts/${a.id}/lineage`}>lineage</Link> ·{" "}
          <Link to={`/artifacts/${a.id}/lineage?direction=downstream`}>downstream</Link> · <Link to={`/compare?a=${a.id}`}>compare / why</Link> ·{" "}
          <Link to={`/artifacts?filter=${encodeURIComponent(`name:eq:${a.name}`)}`}>all versions</Link>
        </div>
        <RegisteredAs registrations={registrations} />
      </header>
      <div className="columns">
        <div className="card">
          <h2>{kind ? `${kind.name} attributes` : "Attributes"}</h2>
          {kind?.description && <p className="muted">{kind.description} (kind version {a.kindVersion})</p>}
          <Attributes schema={schema} values={a.attributes} />
        </div>
        <div className="card">
          <h2>Artifact</h2>
          <KeyValues
            entries={[
              ["id", a.id],
              ["storage uri", a.uri],
              ["description", a.description],
              ["annotations", a.annotations],
              ["fingerprint", a.fingerprint],
              ["revision", a.revision],
            ]}
          />
        </div>
      </div>
      <div className="columns">
        <ProvenanceCard artifact={a} provenance={provenance} />
        <FilesCard artifact={a.id} files={files} />
      </div>
      {(series.length > 0 || overRuns.length > 0) && (
        <div className="card charts">
          {series.map(([k, values]) => (
            <LineChart key={k} title={`${schema.properties?.[k]?.title ?? k} (${values.length} values)`} points={values.map((v, i) => ({ label: String(i + 1), value: v, current: i === values.length - 1 }))} />
          ))}
          {overRuns.map((s) => (
            <LineChart key={s.key} title={`${s.key} of every "${a.name}" over time`} points={s.points} xKind="time" />
          ))}
        </div>
      )}
    </section>
  );
}
