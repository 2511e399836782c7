// The typed client generated from the server's OpenAPI document (schema.d.ts), plus a small
// untyped helper for the lineage endpoints that the document may not describe yet.
import createClient from "openapi-fetch";
import { authHeaders, sessionLost } from "../auth";
import { SERVER, apiUrl } from "../base";
import type { components, paths } from "./schema";
import type { EntityName } from "./entities";

export type Experiment = components["schemas"]["Experiment"];
export type Run = components["schemas"]["Run"];
export type Execution = components["schemas"]["Execution"];
export type Artifact = components["schemas"]["Artifact"];
export type Kind = components["schemas"]["Kind"];
export type { EntityName };
export type Entity = Experiment | Run | Execution | Artifact;

export const api = createClient<paths>({ baseUrl: SERVER });
api.use({
  onRequest({ request }) {
    for (const [name, value] of Object.entries(authHeaders())) request.headers.set(name, value);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) sessionLost();
    return response;
  },
});

/** An RFC 9457 problem answered by the API, or a network failure, as a readable error. */
export class ApiError extends Error {
  status: number;
  title: string;
  detail: string;
  errors: { pointer?: string; detail?: string }[];

  constructor(status: number, body: unknown) {
    const p = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
    const title = String(p.title ?? (status ? `HTTP ${status}` : "Network error"));
    const detail = String(p.detail ?? (typeof body === "string" ? body : ""));
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(p.errors) ? (p.errors as ApiError["errors"]) : [];
  }
}

/** Unwrap an openapi-fetch result: the data, or throw an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, result.error);
  }
  return result.data as T;
}

/** GET a JSON endpoint that the generated client does not know (the lineage contract). */
export async function getJson<T>(path: string, params?: Record<string, string | number | boolean | undefined>): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined) query.set(k, String(v));
  const url = `${apiUrl(path)}${query.size ? `?${query}` : ""}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json", ...authHeaders() } });
  } catch (e) {
    throw new ApiError(0, { title: "Network error", detail: String(e) });
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  if (response.status === 401) sessionLost();
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

export interface ListParams {
  filter?: string[];
  sort?: string;
  limit?: number;
  cursor?: string;
  count?: boolean;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
  total?: number | null;
  /** The names of the entities the items refer to, by id. */
  names?: Record<string, string>;
}

/** One page of any of the browsable entities (``BROWSED``), filtered and sorted by the server.
 * Their list endpoints take the same query; the path names the entity. */
export async function listEntities(entity: EntityName, params: ListParams): Promise<Page<Entity>> {
  const query = { ...params, filter: params.filter ?? [] };
  const path = `/api/v1/${entity}` as "/api/v1/experiments";
  return unwrap(await api.GET(path, { params: { query } })) as Page<Entity>;
}

/** Every item of a list (for the small graph views), at most `max` items. */
export async function listAll<T extends Entity>(entity: EntityName, filter: string[], sort?: string, max = 2000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEntities(entity, { filter, sort, limit: 1000, cursor });
    out.push(...(page.items as T[]));
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

export async function getArtifact(id: string): Promise<Artifact> {
  return unwrap(await api.GET("/api/v1/artifacts/{entity_id}", { params: { path: { entity_id: id } } }));
}

export async function getRun(id: string): Promise<Run> {
  return unwrap(await api.GET("/api/v1/runs/{entity_id}", { params: { path: { entity_id: id } } }));
}

export async function getExperiment(id: string): Promise<Experiment> {
  return unwrap(await api.GET("/api/v1/experiments/{entity_id}", { params: { path: { entity_id: id } } }));
}

export async function getExecution(id: string): Promise<Execution> {
  return unwrap(await api.GET("/api/v1/executions/{entity_id}", { params: { path: { entity_id: id } } }));
}

export async function getKind(name: string): Promise<Kind> {
  return unwrap(await api.GET("/api/v1/kinds/{name}", { params: { path: { name } } }));
}

export async function getExecutable(id: string) {
  return unwrap(await api.GET("/api/v1/executables/{entity_id}", { params: { path: { entity_id: id } } }));
}
