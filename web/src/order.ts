// The order keys are listed in wherever a person picks one (the grid's column chooser, the
// search box's completion): keys that differ by a number are listed by it, param_2 before
// param_10, where the server answers them sorted as text.
const NUMERIC = new Intl.Collator(undefined, { numeric: true });

/** `keys` in the order of the numbers in them, as a new list. */
export function byNumbers(keys: readonly string[]): string[] {
  return [...keys].sort(NUMERIC.compare);
}
