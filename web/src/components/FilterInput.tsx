// The API's filter language, FIELD:OP:VALUE, typed with suggestions for fields and operators.
import { useId, useState, type KeyboardEvent } from "react";

export const OPERATORS: [string, string][] = [
  ["eq", "equals"],
  ["ne", "not equal"],
  ["lt", "less than"],
  ["le", "at most"],
  ["gt", "greater than"],
  ["ge", "at least"],
  ["in", "one of a,b,c"],
  ["prefix", "starts with"],
  ["contains", "contains"],
];

export function suggestions(text: string, fields: string[]): string[] {
  const parts = text.split(":");
  if (parts.length === 1) {
    return fields.filter((f) => f.toLowerCase().startsWith(text.toLowerCase())).map((f) => `${f}:`);
  }
  if (parts.length === 2) {
    return OPERATORS.filter(([op]) => op.startsWith(parts[1])).map(([op]) => `${parts[0]}:${op}:`);
  }
  return [];
}

/** A filter as its chip shows it: the ids it compares with shown by the names the page knows. */
export function chipText(filter: string, names: Record<string, string>): string {
  const [field, op, ...rest] = filter.split(":");
  if (rest.length === 0 || !["eq", "ne", "in"].includes(op)) return filter;
  const values = op === "in" ? rest.join(":").split(",") : [rest.join(":")];
  // The server names ids in their usual form: an id typed in capitals is the same id.
  return `${field}:${op}:${values.map((v) => names[v] ?? names[v.trim().toLowerCase()] ?? v).join(",")}`;
}

export function FilterInput({
  fields,
  filters,
  onChange,
  names = {},
}: {
  fields: string[];
  filters: string[];
  onChange: (f: string[]) => void;
  /** The names of the ids the page knows: a chip shows them, the filter itself is in its tooltip. */
  names?: Record<string, string>;
}) {
  const [text, setText] = useState("");
  const [hint, setHint] = useState<string | null>(null);
  const listId = useId();

  const add = () => {
    const value = text.trim();
    if (!value) return;
    const [field, op, ...rest] = value.split(":");
    if (!field || op === undefined || rest.length === 0) {
      setHint(`"${value}" is not FIELD:OP:VALUE, e.g. name:prefix:mnist`);
      return;
    }
    if (!OPERATORS.some(([o]) => o === op)) {
      setHint(`unknown operator "${op}"; use one of ${OPERATORS.map(([o]) => o).join(", ")}`);
      return;
    }
    setHint(null);
    setText("");
    onChange([...filters, value]);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === "Enter") {
      e.preventDefault();
      add();
    } else if (e.key === "Escape") {
      setText("");
      setHint(null);
    }
  };

  return (
    <div className="filter">
      <div className="filter-row">
        {filters.map((f, i) => (
          <span className="chip" key={`${f}-${i}`}>
            <code title={f}>{chipText(f, names)}</code>
            <button aria-label={`remove filter ${f}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
              ×
            </button>
          </span>
        ))}
        <input
          className="filter-input"
          aria-label="filter"
          placeholder="filter: FIELD:OP:VALUE  (press / to focus, Enter to add)"
          list={listId}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKey}
          spellCheck={false}
        />
        <datalist id={listId}>
          {suggestions(text, fields).map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <button onClick={add}>Add filter</button>
      </div>
      <div className={hint ? "hint error-text" : "hint"}>
        {hint ??
          `Fields: ${fields.join(", ")}; dotted paths go into documents (annotations.KEY, configuration.KEY, attributes.KEY). Operators: ${OPERATORS.map(([o, d]) => `${o} (${d})`).join(", ")}.`}
      </div>
    </div>
  );
}
