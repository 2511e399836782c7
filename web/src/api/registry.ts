// The model registry, an artifact's files, names for ids, and the global search.
import { authHeaders, sessionLost } from "../auth";
import { apiUrl } from "../base";
import { api, ApiError, getArtifact, getJson, listEntities, unwrap, type Artifact, type Execution } from "./client";
import type { components } from "./schema";

export type RegisteredModel = components["schemas"]["RegisteredModel"];
export type ModelVersion = components["schemas"]["ModelVersion"];
export type Alias = components["schemas"]["Alias"];
export type AliasEvent = components["schemas"]["AliasEvent"];
export type ArtifactFile = components["schemas"]["ArtifactFile"];
export type ArtifactFiles = components["schemas"]["ArtifactFiles"];

export interface ModelPage {
  items: RegisteredModel[];
  nextCursor?: string | null;
}

export async function listModels(params: { nameContains?: string; cursor?: string; limit?: number }): Promise<ModelPage> {
  return unwrap(await api.GET("/api/v1/models", { params: { query: { ...params, tag: [] } } }));
}

export async function getModel(name: string): Promise<RegisteredModel> {
  return unwrap(await api.GET("/api/v1/models/{name}", { params: { path: { name } } }));
}

export async function listVersions(name: string, cursor?: string, limit = 50): Promise<{ items: ModelVersion[]; nextCursor?: string | null }> {
  return unwrap(await api.GET("/api/v1/models/{name}/versions", { params: { path: { name }, query: { cursor, limit, metrics: true } } }));
}

/** The model versions an artifact is registered as, in every model, with their aliases. */
export async function registeredAs(artifact: string): Promise<ModelVersion[]> {
  return unwrap(await api.GET("/api/v1/artifacts/{artifact_id}/versions", { params: { path: { artifact_id: artifact } } }));
}

export async function listAliases(name: string): Promise<Alias[]> {
  return unwrap(await api.GET("/api/v1/models/{name}/aliases", { params: { path: { name } } }));
}

export async function aliasHistory(name: string, alias?: string, limit = 200): Promise<AliasEvent[]> {
  return unwrap(await api.GET("/api/v1/models/{name}/history", { params: { path: { name }, query: { alias, limit } } }));
}

export async function moveAlias(name: string, alias: string, version: number, reason?: string): Promise<Alias> {
  return unwrap(
    await api.PUT("/api/v1/models/{name}/aliases/{alias}", {
      params: { path: { name, alias } },
      body: { version, reason: reason || undefined },
    }),
  );
}

export async function listFiles(artifact: string): Promise<ArtifactFiles> {
  return unwrap(await api.GET("/api/v1/artifacts/{artifact_id}/files", { params: { path: { artifact_id: artifact } } }));
}

/** The address of one file of an artifact (each path segment escaped on its own). */
export function fileUrl(artifact: string, path: string): string {
  return apiUrl(`/artifacts/${artifact}/files/${path.split("/").map(encodeURIComponent).join("/")}`);
}

/** The first `bytes` of a file, or all of it: a preview never downloads a large file whole. */
const TEXT = /\.(txt|md|log|json|jsonl|ya?ml|toml|ini|cfg|csv|tsv|py|sh|xml|html?)$/i;
const IMAGE = /\.(png|jpe?g|gif|webp|bmp)$/i;
/** A text file's preview shows at most its first this many bytes. */
export const TEXT_PREVIEW = 64 * 1024;
const IMAGE_PREVIEW = 4 * 1024 * 1024;

/** Whether a file can be shown in the page, and how. */
export function previewable(f: ArtifactFile): "text" | "image" | null {
  if (IMAGE.test(f.path)) return f.size <= IMAGE_PREVIEW ? "image" : null;
  if (TEXT.test(f.path) || !/\.[^/]+$/.test(f.path)) return "text";
  return null;
}

/** The file an artifact's page shows at once: the first small one that can be read. */
export function firstPreview(files: ArtifactFile[]): ArtifactFile | undefined {
  return files.find((f) => previewable(f) && f.size <= TEXT_PREVIEW);
}

export async function fetchFile(artifact: string, path: string, bytes?: number): Promise<Blob> {
  const headers: Record<string, string> = { ...authHeaders() };
  if (bytes !== undefined) headers.range = `bytes=0-${bytes - 1}`;
  let response: Response;
  try {
    response = await fetch(fileUrl(artifact, path), { headers });
  } catch (e) {
    throw new ApiError(0, { title: "Network error", detail: String(e) });
  }
  if (response.status === 401) sessionLost();
  if (!response.ok) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
    throw new ApiError(response.status, body);
  }
  return response.blob();
}

/** A presigned URL that downloads a file from object storage directly, or null where the
 * server keeps its files in a local directory (it answers 422: no presigning there). */
export async function fileLink(artifact: string, path: string): Promise<string | null> {
  const answer = await api.GET("/api/v1/artifacts/{artifact_id}/links/{path}", { params: { path: { artifact_id: artifact, path } } });
  if (answer.response.status === 422) return null;
  return unwrap(answer).url;
}

/** Executions that wrote (`outputArtifact`) or read (`inputArtifact`) an artifact. */
export async function stepsOf(artifact: string, edge: "outputArtifact" | "inputArtifact", limit = 20): Promise<{ items: Execution[]; more: boolean }> {
  const page = await listEntities("executions", { filter: [`${edge}:eq:${artifact}`], sort: "-createTime", limit });
  return { items: page.items as Execution[], more: Boolean(page.nextCursor) };
}

/** The artifacts a step read (`consumedBy`) or wrote (`producedBy`), at most `limit`. */
export async function artifactsOfStep(execution: string, edge: "consumedBy" | "producedBy", limit = 200): Promise<{ items: Artifact[]; more: boolean }> {
  const page = await listEntities("artifacts", { filter: [`${edge}:eq:${execution}`], sort: "name", limit });
  return { items: page.items as Artifact[], more: Boolean(page.nextCursor) };
}

/** Other successful steps that did the same work as `step` (same fingerprint: executable,
 * kind, configuration and inputs): the latest of them and how many there are. A listing, not the
 * cache lookup, so that "none" is an answer and not a 404. */
export async function sameWork(step: Pick<Execution, "id" | "fingerprint">): Promise<{ latest?: Execution; total: number }> {
  const page = await listEntities("executions", {
    filter: [`fingerprint:eq:${step.fingerprint}`, `status:eq:SUCCESS`, `id:ne:${step.id}`],
    sort: "-createTime",
    limit: 1,
    count: true,
  });
  return { latest: page.items[0] as Execution | undefined, total: page.total ?? page.items.length };
}

// Names for ids: a reference is shown by its name, each artifact asked for once per page load.
const names = new Map<string, Promise<Artifact>>();

export function artifactById(id: string): Promise<Artifact> {
  let found = names.get(id);
  if (!found) {
    found = getArtifact(id);
    found.catch(() => names.delete(id));
    names.set(id, found);
  }
  return found;
}

export interface SearchHit {
  type: string;
  id: string;
  name: string | null;
  kind?: string | null;
  uri?: string | null;
  snippet?: string | null;
  score?: number;
}

/** Free-text search over names, ids and URIs of every kind of entity. */
export async function search(text: string, limit = 20, type?: string): Promise<SearchHit[]> {
  const answer = await getJson<{ items?: SearchHit[] }>("/search", { text, limit, type });
  return answer.items ?? [];
}

/** Where a search hit is shown in the UI. */
export function hitPath(hit: SearchHit): string {
  switch (hit.type) {
    case "experiment":
      return `/experiments/${hit.id}/runs`;
    case "run":
      return `/runs/${hit.id}`;
    case "execution":
      return `/executions/${hit.id}`;
    case "model":
      return `/models/${encodeURIComponent(hit.name ?? "")}`;
    case "executable":
      return `/executions?filter=${encodeURIComponent(`executable:eq:${hit.id}`)}`;
    case "pipeline":
      return `/runs?filter=${encodeURIComponent(`pipeline:eq:${hit.id}`)}`;
    default:
      return `/artifacts/${hit.id}`;
  }
}
