// The order keys are listed in wherever a person reads or picks one (the grid's column chooser,
// the search box's completion, the parameters of compared runs): keys that differ by a number
// are listed by it, param_2 before param_10, where the server answers them sorted as text.
const NUMERIC = new Intl.Collator(undefined, { numeric: true });

/** Compares two keys by the numbers in them (`param_2` < `param_10`). */
export const numberOrder = (a: string, b: string): number => NUMERIC.compare(a, b);

/** `keys` in the order of the numbers in them, as a new list. */
export function byNumbers(keys: readonly string[]): string[] {
  return [...keys].sort(numberOrder);
}

/** Rows named by a `key`, in the order of the numbers in their keys, as a new list. */
export function rowsByNumbers<T extends { key: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((a, b) => numberOrder(a.key, b.key));
}
