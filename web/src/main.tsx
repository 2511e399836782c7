import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { Loading, Problem } from "./components/Status";
import { ApiError } from "./api/client";
import { checkSession, onSession, signOut, type Session } from "./auth";
import { Link, navigate, useLocation, type Location } from "./router";
import { appPath, appUrl } from "./base";
import { GlobalSearch } from "./components/Search";
import { BROWSED, type EntityName } from "./api/entities";
import { SignIn } from "./views/SignIn";
import { lazyView, type LazyView } from "./lazyView";
import { compareAddress, first, gridAddress, prefetch } from "./first";
import "./styles.css";
// Shared by several views (breadcrumbs, copy buttons): loaded with the shell, not with one view.
import "./views/registry.css";

// Each view is a chunk of its own: the tables never load the graph library. The chunk of the
// view an address shows is fetched as soon as the address is matched, while the session is
// being checked, not after.
const view = <P extends object>(load: () => Promise<React.ComponentType<P>>) => lazyView(load, <Loading />);
const ArtifactView = view(() => import("./views/ArtifactView").then((m) => m.ArtifactView));
const Browse = view(() => import("./views/Browse").then((m) => m.Browse));
const Compare = view(() => import("./views/Compare").then((m) => m.Compare));
const History = view(() => import("./views/History").then((m) => m.History));
const Lineage = view(() => import("./views/Lineage").then((m) => m.Lineage));
const ModelList = view(() => import("./views/Models").then((m) => m.ModelList));
const ModelPage = view(() => import("./views/Models").then((m) => m.ModelPage));
const RunPage = view(() => import("./views/RunPage").then((m) => m.RunPage));
const StepPage = view(() => import("./views/StepPage").then((m) => m.StepPage));
const RunsGrid = view(() => import("./views/RunsGrid").then((m) => m.RunsGrid));
const CompareRuns = view(() => import("./views/CompareRuns").then((m) => m.CompareRuns));
const Trace = view(() => import("./views/Trace").then((m) => m.Trace));

const ID = "([0-9a-fA-F-]{36})";
type Route = [RegExp, Pick<LazyView<never>, "preload">, (m: RegExpMatchArray, l: Location) => React.ReactNode, ((m: RegExpMatchArray, l: Location) => unknown)?];

// Each route names the view whose chunk it needs and, for the everyday views, what they ask for
// first, so that both start as soon as the address is matched.
const ROUTES: Route[] = [
  [new RegExp(`^/(${BROWSED.join("|")})/?$`), Browse, (m, l) => <Browse key={m[1]} entity={m[1] as EntityName} location={l} />],
  [
    new RegExp(`^/runs/${ID}$`),
    RunPage,
    (m, l) => <RunPage id={m[1]} tab="overview" location={l} />,
    (m) => [first.run(m[1]), first.runDag(m[1]), first.runMetrics(m[1])],
  ],
  [new RegExp(`^/runs/${ID}/dag$`), RunPage, (m, l) => <RunPage id={m[1]} tab="dag" location={l} />, (m) => first.run(m[1])],
  [
    new RegExp(`^/executions/${ID}$`),
    StepPage,
    (m) => <StepPage key={m[1]} id={m[1]} />,
    (m) => [first.execution(m[1]), first.artifactsOfStep(m[1], "consumedBy"), first.artifactsOfStep(m[1], "producedBy")],
  ],
  [
    new RegExp(`^/experiments/${ID}/runs$`),
    RunsGrid,
    (m, l) => <RunsGrid id={m[1]} location={l} />,
    (m, l) => {
      const grid = gridAddress(m[1], l.query);
      return [first.experiment(m[1]), first.grid(grid.page), first.grid(grid.count)];
    },
  ],
  [new RegExp(`^/experiments/${ID}/trace$`), Trace, (m, l) => <Trace id={m[1]} location={l} />],
  [new RegExp(`^/experiments/${ID}/history$`), History, (m, l) => <History id={m[1]} location={l} />],
  [
    new RegExp(`^/artifacts/${ID}$`),
    ArtifactView,
    (m) => <ArtifactView id={m[1]} />,
    (m) => [first.artifact(m[1]), first.registeredAs(m[1]), first.stepsOf(m[1], "outputArtifact", 1), first.stepsOf(m[1], "inputArtifact", 20), first.files(m[1])],
  ],
  [new RegExp(`^/artifacts/${ID}/lineage$`), Lineage, (m, l) => <Lineage id={m[1]} location={l} />],
  [/^\/compare\/?$/, Compare, (_, l) => <Compare location={l} />],
  [
    /^\/compare\/runs\/?$/,
    CompareRuns,
    (_, l) => <CompareRuns location={l} />,
    (_, l) => {
      // Only for the default x axis (by step): the one a comparison opens with.
      const c = compareAddress(l.query, true);
      return [null, "step"].includes(l.query.get("x")) && c.ids.length > 0 && first.compare(c.ids, c.wanted, c.points);
    },
  ],
  [/^\/models\/?$/, ModelList, (_, l) => <ModelList location={l} />],
  [
    /^\/models\/([^/]+)$/,
    ModelPage,
    (m, l) => <ModelPage key={m[1]} name={decodeURIComponent(m[1])} location={l} />,
    (m, l) => {
      const name = decodeURIComponent(m[1]);
      return [first.model(name), first.aliases(name), first.aliasHistory(name, l.query.get("alias") ?? undefined), first.versions(name)];
    },
  ],
];

// Asked at once, while the view's chunk and first requests are fetched: no view is drawn
// before its answer.
const sessionChecked = checkSession();
sessionChecked.catch(() => undefined); // handled in App; this only marks it as handled
{
  const here: Location = { path: appPath(window.location.pathname), query: new URLSearchParams(window.location.search) };
  for (const [pattern, chunk, , requests] of ROUTES) {
    const m = here.path.match(pattern);
    if (m) {
      void chunk.preload();
      if (requests) prefetch(() => requests(m, here));
      break;
    }
  }
}

function App() {
  const location = useLocation();
  const [session, setSession] = useState<Session | "unknown">("unknown");
  useEffect(() => {
    const stop = onSession(setSession);
    // A server that cannot be asked still gets its views: their own requests say what is wrong.
    sessionChecked.catch(() => setSession({ state: "open" }));
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
  for (const [pattern, , render] of ROUTES) {
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
        <a className="api-link" href={appUrl("/docs")}>
          API
        </a>
      </header>
      <main>
        {session === "unknown" ? null : session.state === "signed-out" ? <SignIn /> : view ??
          (location.path === "/" ? null : (
            <Problem error={new ApiError(404, { title: "No such page", detail: `${location.path} is not a view of this UI` })} />
          ))}
      </main>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
