// Where the UI is served: at the root of its host, or under a path prefix behind a proxy
// (https://host/trail/). The server writes the prefix into index.html's <base href>, so the
// same bundle works under any prefix; every URL the UI makes — its API calls, its links, the
// addresses it pushes into the history — is built from here, never written as "/...".

/** The path the UI lives under, with its trailing slash: "/" or "/trail/". */
export const BASE = new URL("./", document.baseURI).pathname;
const PREFIX = BASE.slice(0, -1);

/** The browser's address of a path of the UI ("/runs/ID" -> "/trail/runs/ID"). */
export function appUrl(path: string): string {
  return path.startsWith("/") ? PREFIX + path : path;
}

/** The path of the UI that a browser's address names ("/trail/runs/ID" -> "/runs/ID"). */
export function appPath(pathname: string): string {
  if (pathname === PREFIX) return "/";
  return pathname.startsWith(BASE) ? pathname.slice(PREFIX.length) : pathname;
}

/** The address of a path of the server's API ("/runs" -> "/trail/api/v1/runs"). */
export function apiUrl(path: string): string {
  return `${PREFIX}/api/v1${path}`;
}

/** The address of the server itself under the prefix, for the typed client's paths ("/api/v1/..."). */
export const SERVER = PREFIX;
