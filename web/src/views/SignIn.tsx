// The sign-in form shown in place of any view while the server wants a token and the tab has none.
import { useState } from "react";
import { signIn } from "../auth";

export function SignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section className="view signin">
      <h1>Sign in</h1>
      <p className="muted">
        This server has access control on. Paste an API token (<code>modeltrail tokens create NAME --role reader</code> makes one); it is
        kept in this tab only and forgotten when the tab closes.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void signIn(token).then((refused) => {
            setBusy(false);
            setError(refused);
            if (!refused) setToken("");
          });
        }}
      >
        <label>
          API token{" "}
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-label="API token"
            size={48}
            autoFocus
          />
        </label>{" "}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {error && (
        <div className="problem" role="alert">
          <strong>Not signed in</strong>
          <div>{error}</div>
        </div>
      )}
    </section>
  );
}
