// Choosing policies from a list (the "Add policies" picker, a backup set's items): a set of ids with
// select-all-visible, and the bounds of how many a start takes, read from the operation type's scope schema
// so they are the server's own (docs/api.md §10: 1–500 policy ids). Pure.

export type Bounds = { min: number; max: number };
export type VisibleState = 'none' | 'some' | 'all';

export function toggleId(selected: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selected);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** All of the visible ones chosen: they are unchosen; otherwise they all are chosen (others kept either way). */
export function toggleVisible(selected: ReadonlySet<string>, visible: readonly string[]): Set<string> {
  const next = new Set(selected);
  if (visibleState(selected, visible) === 'all') for (const id of visible) next.delete(id);
  else for (const id of visible) next.add(id);
  return next;
}

export function visibleState(selected: ReadonlySet<string>, visible: readonly string[]): VisibleState {
  const chosen = visible.filter((id) => selected.has(id)).length;
  return chosen === 0 ? 'none' : chosen === visible.length ? 'all' : 'some';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const whole = (value: unknown): number | undefined => (typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined);

/** `minItems`/`maxItems` of an array property of a JSON Schema object (a scope schema); `fallback` for what is missing. */
export function arrayBounds(schema: unknown, property: string, fallback: Bounds): Bounds {
  const properties = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const entry = properties[property];
  const field = isObject(entry) ? entry : {};
  return { min: whole(field.minItems) ?? fallback.min, max: whole(field.maxItems) ?? fallback.max };
}

const policies = (n: number) => `${n} ${n === 1 ? 'policy' : 'policies'}`;

/** Why this many cannot be started, or null when it can. */
export function selectionProblem(count: number, bounds: Bounds): string | null {
  if (count < bounds.min) return `Choose at least ${policies(bounds.min)}.`;
  if (count > bounds.max) return `Choose at most ${policies(bounds.max)}; ${count} are chosen.`;
  return null;
}

/** "3 of 500 chosen", the counter beside a picker. */
export function chosenText(count: number, bounds: Bounds): string {
  return `${count} chosen · ${bounds.min}–${bounds.max} per run`;
}
