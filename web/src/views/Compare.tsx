// FR2 and the case study's root-cause analysis: two artifacts side by side with the differences
// highlighted, and the lineage diff of one against the other with the root cause first.
import { useEffect, useState } from "react";
import { getArtifact, listAll, type Artifact } from "../api/client";
import { ArtifactLink, Value } from "../components/Details";
import { ArtifactPicker } from "../components/Search";
import { Empty, Loading, Problem } from "../components/Status";
import { useTitle } from "../context";
import { formatTime, useAsync } from "../hooks";
import { lineageDiff, type LNode } from "../lineage";
import { navigate, withQuery, type Location } from "../router";

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

function comparable(a: Artifact): Map<string, unknown> {
  const { id: _id, createTime: _c, revision: _r, fingerprint: _f, ...rest } = a;
  return flatten(rest, "", new Map());
}

async function previousVersion(a: Artifact): Promise<Artifact | undefined> {
  const earlier = await listAll<Artifact>("artifacts", [`name:eq:${a.name}`, `kind:eq:${a.kind}`, `createTime:lt:${a.createTime}`], "-createTime", 1);
  return earlier[0];
}

export function Compare({ location }: { location: Location }) {
  const aId = location.query.get("a");
  const bId = location.query.get("b");
  const a = useAsync(async () => (aId ? getArtifact(aId) : undefined), [aId]);
  const b = useAsync(async () => (bId ? getArtifact(bId) : undefined), [bId]);
  const [noPrevious, setNoPrevious] = useState(false);
  useTitle(a.data && b.data ? `${a.data.name} vs ${b.data.name}` : a.data?.name, "compare");
  const [onlyDiff, setOnlyDiff] = useState(false);

  useEffect(() => {
    setNoPrevious(false);
    if (a.data && !bId) {
      void previousVersion(a.data).then((p) => (p ? navigate(withQuery({ b: p.id }), true) : setNoPrevious(true)));
    }
  }, [a.data, bId]);

  if (!aId) {
    return (
      <section className="view">
        <h1>Compare and why</h1>
        <Empty>Open an artifact and choose “compare / why”, or add ?a=ID&amp;b=ID to the address.</Empty>
      </section>
    );
  }
  const rows = a.data && b.data ? [...new Set([...comparable(a.data).keys(), ...comparable(b.data).keys()])].sort() : [];
  const left = a.data ? comparable(a.data) : new Map();
  const right = b.data ? comparable(b.data) : new Map();
  const differs = (k: string) => JSON.stringify(left.get(k)) !== JSON.stringify(right.get(k));
  const shown = onlyDiff ? rows.filter(differs) : rows;

  return (
    <section className="view compare">
      <header className="view-head">
        <h1>Compare and why</h1>
        <div className="toolbar">
          <span>against</span>
          <ArtifactPicker label="compare against" onPick={(id) => navigate(withQuery({ b: id }))} />
          <label>
            <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> only differences
          </label>
        </div>
      </header>
      {a.error && <Problem error={a.error} />}
      {b.error && <Problem error={b.error} />}
      {noPrevious && <Empty>No earlier version of this artifact; choose another artifact to compare against, by its name, URI or id.</Empty>}
      {(a.loading || b.loading) && <Loading />}
      {a.data && b.data && (
        <>
          <Why a={a.data.id} b={b.data.id} />
          <div className="card">
            <h2>Side by side</h2>
            <table className="data compare-table" aria-label="comparison">
              <thead>
                <tr>
                  <th>field</th>
                  <th>
                    <ArtifactLink id={a.data.id}>{a.data.name}</ArtifactLink> <span className="muted">{formatTime(a.data.createTime)}</span>
                  </th>
                  <th>
                    <ArtifactLink id={b.data.id}>{b.data.name}</ArtifactLink> <span className="muted">{formatTime(b.data.createTime)}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((k) => (
                  <tr key={k} className={differs(k) ? "differs" : undefined}>
                    <th scope="row">
                      {k.split(".").map((part, i, all) => (
                        // A long dotted path breaks after its dots, not inside a word.
                        <span key={i}>
                          {part}
                          {i < all.length - 1 ? "." : ""}
                          {i < all.length - 1 && <wbr />}
                        </span>
                      ))}
                    </th>
                    <td>
                      <Value value={left.get(k)} />
                    </td>
                    <td>
                      <Value value={right.get(k)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function Side({ node }: { node: unknown }) {
  if (!node || typeof node !== "object") return <Value value={node} />;
  const n = node as Partial<LNode> & { id?: string };
  if (!n.id) return <Value value={node} />;
  // Without a name in the diff, the link finds the artifact's name itself.
  return <ArtifactLink id={n.id}>{n.name ? `${n.name}${n.createTime ? ` (${formatTime(n.createTime)})` : ""}` : undefined}</ArtifactLink>;
}

function Why({ a, b }: { a: string; b: string }) {
  const diff = useAsync(() => lineageDiff(a, b), [a, b]);
  return (
    <div className="card why">
      <h2>Why do they differ? Lineage diff, root cause first</h2>
      {diff.error && <Problem error={diff.error} />}
      {diff.loading && <Loading what="Comparing the lineages" />}
      {diff.data && diff.data.length === 0 && <Empty>Their lineages are the same: nothing upstream differs.</Empty>}
      {diff.data && diff.data.length > 0 && (
        <ol className="differences" data-testid="differences">
          {diff.data.map((d, i) => (
            <li key={i} className={i === 0 ? "root-cause" : undefined} data-kind={d.kind}>
              {i === 0 && <span className="badge root">root cause</span>}
              <strong>{d.title}</strong> {d.kind && <span className="badge">{d.kind}</span>} <span className="muted">{d.what}</span>
              {(d.a !== undefined || d.b !== undefined) && (
              <div className="sides">
                <span>
                  this: <Side node={d.a} />
                </span>
                <span>
                  other: <Side node={d.b} />
                </span>
              </div>
              )}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
