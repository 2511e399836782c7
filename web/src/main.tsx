import { StrictMode, Suspense, lazy, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Loading, Problem } from "./components/Status";
import { ApiError } from "./api/client";
import { checkSession, onSession, signOut, type Session } from "./auth";
import { Link, navigate, useLocation, type Location } from "./router";
import { GlobalSearch } from "./components/Search";
import { BROWSED, type EntityName } from "./api/entities";
import { SignIn } from "./views/SignIn";
import "./styles.css";
// Shared by several views (breadcrumbs, copy buttons): loaded with the shell, not with one view.
import "./views/registry.css";

// Each view is a chunk of its own, fetched when first shown: the tables never load the graph
// library, and the first paint waits only for the view it shows.
const ArtifactView = lazy(() => import("./views/ArtifactView").then((m) => ({ default: m.ArtifactView })));
const Browse = lazy(() => import("./views/Browse").then((m) => ({ default: m.Browse })));
const Compare = lazy(() => import("./views/Compare").then((m) => ({ default: m.Compare })));
const History = lazy(() => import("./views/History").then((m) => ({ default: m.History })));
const Lineage = lazy(() => import("./views/Lineage").then((m) => ({ default: m.Lineage })));
const ModelList = lazy(() => import("./views/Models").then((m) => ({ default: m.ModelList })));
const ModelPage = lazy(() => import("./views/Models").then((m) => ({ default: m.ModelPage })));
const RunPage = lazy(() => import("./views/RunPage").then((m) => ({ default: m.RunPage })));
const RunsGrid = lazy(() => import("./views/RunsGrid").then((m) => ({ default: m.RunsGrid })));
const CompareRuns = lazy(() => import("./views/CompareRuns").then((m) => ({ default: m.CompareRuns })));
const Trace = lazy(() => import("./views/Trace").then((m) => ({ default: m.Trace })));

const ID = "([0-9a-fA-F-]{36})";
const ROUTES: [RegExp, (m: RegExpMatchArray, l: Location) => React.ReactNode][] = [
  [new RegExp(`^/(${BROWSED.join("|")})/?$`), (m, l) => <Browse key={m[1]} entity={m[1] as EntityName} location={l} />],
  [new RegExp(`^/runs/${ID}$`), (m, l) => <RunPage id={m[1]} tab="overview" location={l} />],
  [new RegExp(`^/runs/${ID}/dag$`), (m, l) => <RunPage id={m[1]} tab="dag" location={l} />],
  [new RegExp(`^/experiments/${ID}/runs$`), (m, l) => <RunsGrid id={m[1]} location={l} />],
  [new RegExp(`^/experiments/${ID}/trace$`), (m, l) => <Trace id={m[1]} location={l} />],
  [new RegExp(`^/experiments/${ID}/history$`), (m, l) => <History id={m[1]} location={l} />],
  [new RegExp(`^/artifacts/${ID}$`), (m) => <ArtifactView id={m[1]} />],
  [new RegExp(`^/artifacts/${ID}/lineage$`), (m, l) => <Lineage id={m[1]} location={l} />],
  [/^\/compare\/?$/, (_, l) => <Compare location={l} />],
  [/^\/compare\/runs\/?$/, (_, l) => <CompareRuns location={l} />],
  [/^\/models\/?$/, (_, l) => <ModelList location={l} />],
  [/^\/models\/([^/]+)$/, (m, l) => <ModelPage key={m[1]} name={decodeURIComponent(m[1])} location={l} />],
];

function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session | "unknown">("unknown");
  useEffect(() => {
    const stop = onSession(setSession);
    // A server that cannot be asked still gets its views: their own requests say what is wrong.
    checkSession().catch(() => setSession({ state: "open" }));
    return stop;
  }, []);
  useEffect(() => {
    if (location.path === "/" || location.path === "") navigate("/experiments", true);
  }, [location.path]);
  useEffect(() => {
    // "/" focuses the filter of a table, as in many tools people use daily.
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) {
        const input = document.querySelector<HTMLInputElement>(".filter-input, input[type=search]");
        if (input) {
          e.preventDefault();
          input.focus();
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  let view: React.ReactNode = null;
  for (const [pattern, render] of ROUTES) {
    const m = location.path.match(pattern);
    if (m) {
      view = render(m, location);
      break;
    }
  }
  const section = location.path.split("/")[1];
  return (
    <>
      <header className="top">
        <Link to="/experiments" className="brand">
          modeltrail
        </Link>
        <nav aria-label="main">
          {BROWSED.map((s) => (
            <Link key={s} to={`/${s}`} className={section === s ? "active" : undefined}>
              {s}
            </Link>
          ))}
          <Link to="/models" className={section === "models" ? "active" : undefined}>
            models
          </Link>
          <Link to="/compare" className={section === "compare" ? "active" : undefined}>
            compare
          </Link>
        </nav>
        <GlobalSearch />
        {session !== "unknown" && session.state === "signed-in" && (
          <span className="who">
            <span title={`role: ${session.principal.role ?? "per experiment"}`}>{session.principal.name}</span>{" "}
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </span>
        )}
        <a className="api-link" href="/docs">
          API
        </a>
      </header>
      <main>
        <Suspense fallback={<Loading />}>
          {session === "unknown" ? null : session.state === "signed-out" ? <SignIn /> : view ??
            (location.path === "/" ? null : (
              <Problem error={new ApiError(404, { title: "No such page", detail: `${location.path} is not a view of this UI` })} />
            ))}
        </Suspense>
      </main>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
