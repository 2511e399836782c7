// The `q` search language typed with completion of the keys the runs really have: the word at
// the cursor is matched against them; Tab or Enter takes the highlighted one.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";

const WORD = /[A-Za-z0-9_.`\-/]*$/;
const MAX_SHOWN = 12;

/** The keys that complete `word`: those starting with it first, then those containing it. */
export function completions(word: string, keys: string[]): string[] {
  if (!word) return [];
  const w = word.toLowerCase();
  const starts = keys.filter((k) => k.toLowerCase().startsWith(w) && k.toLowerCase() !== w);
  const inside = keys.filter((k) => !k.toLowerCase().startsWith(w) && k.toLowerCase().includes(w));
  return [...starts, ...inside].slice(0, MAX_SHOWN);
}

export function QueryInput({
  value,
  keys,
  onSubmit,
  onFocus,
  placeholder,
  invalid = false,
}: {
  value: string;
  /** The server refused the search: the input is marked, its message is `#query-error`. */
  invalid?: boolean;
  keys: string[];
  onSubmit: (q: string) => void;
  /** Called when the input is focused: the keys may be asked for only then. */
  onFocus?: () => void;
  placeholder?: string;
}) {
  const [text, setText] = useState(value);
  const [caret, setCaret] = useState(value.length);
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const listId = useId();
  useEffect(() => setText(value), [value]);

  const word = (text.slice(0, caret).match(WORD) ?? [""])[0];
  const options = useMemo(() => (open ? completions(word, keys) : []), [open, word, keys]);
  useEffect(() => setActive(0), [word]);

  const take = (key: string) => {
    const start = caret - word.length;
    const next = `${text.slice(0, start)}${key} ${text.slice(caret).replace(/^[A-Za-z0-9_.`\-/]*\s?/, "")}`;
    setText(next);
    const at = start + key.length + 1;
    setCaret(at);
    setOpen(false);
    requestAnimationFrame(() => input.current?.setSelectionRange(at, at));
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (options.length > 0 && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      setActive((a) => (a + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length);
    } else if (options.length > 0 && (e.key === "Tab" || e.key === "Enter")) {
      e.preventDefault();
      take(options[active]);
    } else if (e.key === "Enter") {
      e.preventDefault();
      setOpen(false);
      onSubmit(text.trim());
    } else if (e.key === "Escape") {
      setOpen(false);
    }
  };

  return (
    <div className="query-input">
      <input
        ref={input}
        className="filter-input"
        type="text"
        aria-label="search runs"
        role="combobox"
        aria-expanded={options.length > 0}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-invalid={invalid || undefined}
        aria-errormessage={invalid ? "query-error" : undefined}
        placeholder={placeholder}
        value={text}
        spellCheck={false}
        onChange={(e) => {
          setText(e.target.value);
          setCaret(e.target.selectionStart ?? e.target.value.length);
          setOpen(true);
        }}
        onKeyDown={onKey}
        onKeyUp={(e) => setCaret(e.currentTarget.selectionStart ?? text.length)}
        onClick={(e) => setCaret(e.currentTarget.selectionStart ?? text.length)}
        onFocus={onFocus}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {options.length > 0 && (
        <ul className="completions" id={listId} role="listbox" aria-label="keys">
          {options.map((k, i) => (
            <li
              key={k}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                take(k);
              }}
            >
              <code>{k}</code>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
