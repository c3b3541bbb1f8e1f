// The field-level diff of two policies' settings: pure, no I/O. Settings are flattened to leaf paths
// (`a.b[2].c`, `a["@odata.type"]`); each path added, removed or changed is one field with its values as JSON
// text, sanitized (secrets redacted, in the light of the setting's own name too) and cut to 200 chars.
import { MAX_SETTINGS_DEPTH } from '../inventory/limits.ts';
import { MAX_ITEM_LENGTH, sanitizeItem } from '../sanitize/sanitizer.ts';
import type { DriftField } from './entity.ts';

/** Fields kept per finding; the rest are counted (`omitted`). */
export const MAX_FIELDS = 200;
/** A value (and a path) is cut to this many characters, the cut marked with '…'. */
export const MAX_VALUE_CHARS = MAX_ITEM_LENGTH;

export type SettingsDiff = { fields: DriftField[]; omitted: number };

/** A leaf: its value as found (strings raw) and the name of the setting it belongs to. */
type Leaf = { value: unknown; text: string; key: string | null };

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const REDACTED = '[redacted]';
const TOO_DEEP = '(nested too deeply)';
const ELLIPSIS = '…';

const segment = (key: string, root: boolean) => (IDENTIFIER.test(key) ? (root ? key : `.${key}`) : `[${JSON.stringify(key)}]`);

/**
 * Every leaf of a settings object by path, in document order: primitives and empty objects and arrays.
 * No recursion, so nesting cannot overflow the stack; snapshots never nest past MAX_SETTINGS_DEPTH, and
 * anything deeper given here is one opaque leaf.
 */
export function flatten(settings: Record<string, unknown>): Map<string, Leaf> {
  const leaves = new Map<string, Leaf>();
  const stack: { value: unknown; path: string; key: string | null; depth: number }[] = [];
  const push = (value: unknown, path: string, key: string | null, depth: number) => stack.push({ value, path, key, depth });
  // Children are pushed in reverse, so they are visited in their own order.
  const children = (value: object, path: string, key: string | null, depth: number) => {
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) push(value[i], `${path}[${i}]`, key, depth + 1);
    } else {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, v] = entries[i]!;
        push(v, `${path}${segment(k, path === '')}`, k, depth + 1);
      }
    }
  };
  children(settings, '', null, 0);
  while (stack.length > 0) {
    const { value, path, key, depth } = stack.pop()!;
    const nested = value !== null && typeof value === 'object';
    if (!nested) leaves.set(path, { value, text: JSON.stringify(value) ?? 'null', key });
    else if (depth >= MAX_SETTINGS_DEPTH) leaves.set(path, { value: TOO_DEEP, text: JSON.stringify(TOO_DEEP), key });
    else if (Object.keys(value).length > 0) children(value, path, key, depth);
    else leaves.set(path, { value, text: Array.isArray(value) ? '[]' : '{}', key });
  }
  return leaves;
}

/** Cut to MAX_VALUE_CHARS including the '…', never inside a redaction marker or a surrogate pair. */
function cut(text: string): string {
  if (text.length <= MAX_VALUE_CHARS) return text;
  let head = text.slice(0, MAX_VALUE_CHARS - ELLIPSIS.length);
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const open = head.lastIndexOf('[');
  if (open !== -1 && !head.includes(']', open) && text.startsWith('[redacted', open)) head = head.slice(0, open);
  return head + ELLIPSIS;
}

/** Short texts are remembered (settings repeat enums, versions, URLs and paths across thousands of policies). */
const MEMO_MAX_TEXT = 256;
const MEMO_MAX_ENTRIES = 10_000;

/**
 * Shows values and paths the way findings do. One per generation: what it remembers lives as long as the
 * run, never in the process.
 */
export class FieldPresenter {
  readonly #keys = new Map<string, boolean>();
  readonly #values = new Map<string, string>();
  readonly #paths = new Map<string, string>();

  /**
   * A value as JSON text: a string is redacted by the secret rules before it is encoded (so escaping cannot
   * hide a secret from them), and the whole value of a setting named like a secret (`password`,
   * `clientSecret`, …) is hidden whatever it looks like; then cut.
   */
  value(value: unknown, key: string | null): string {
    if (key !== null && (typeof value === 'string' || typeof value === 'number') && this.isSensitiveKey(key)) return JSON.stringify(REDACTED);
    // Numbers, booleans, null and empty lists or objects carry no secret shape the rules know.
    if (typeof value !== 'string') return cut(JSON.stringify(value) ?? 'null');
    return memo(this.#values, value, () => cut(JSON.stringify(sanitizeItem(value) ?? '')));
  }

  path(path: string): string {
    return memo(this.#paths, path, () => sanitizeItem(path) ?? '(root)');
  }

  /** Whether the secret rules take a setting of this name for a secret. */
  private isSensitiveKey(key: string): boolean {
    let sensitive = this.#keys.get(key);
    if (sensitive === undefined) {
      const probe = `${JSON.stringify(key)}:"v4lue"`;
      sensitive = sanitizeItem(probe) !== probe;
      if (key.length <= MEMO_MAX_TEXT && this.#keys.size < MEMO_MAX_ENTRIES) this.#keys.set(key, sensitive);
    }
    return sensitive;
  }
}

function memo(cache: Map<string, string>, text: string, compute: () => string): string {
  let shown = cache.get(text);
  if (shown === undefined) {
    shown = compute();
    if (text.length <= MEMO_MAX_TEXT && cache.size < MEMO_MAX_ENTRIES) cache.set(text, shown);
  }
  return shown;
}

/** A value as a finding shows it (see FieldPresenter.value). */
export const presentValue = (value: unknown, key: string | null): string => new FieldPresenter().value(value, key);

/** The fields that differ between two settings objects (null: the policy is absent on that side). */
export function diffSettings(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
  presenter = new FieldPresenter(),
): SettingsDiff {
  const old = before ? flatten(before) : new Map<string, Leaf>();
  const now = after ? flatten(after) : new Map<string, Leaf>();
  const fields: DriftField[] = [];
  let omitted = 0;
  const add = (path: string, from: Leaf | undefined, to: Leaf | undefined) => {
    if (fields.length >= MAX_FIELDS) {
      omitted++;
      return;
    }
    fields.push({
      path: presenter.path(path),
      before: from ? presenter.value(from.value, from.key) : null,
      after: to ? presenter.value(to.value, to.key) : null,
    });
  };
  for (const [path, from] of old) {
    const to = now.get(path);
    if (!to || to.text !== from.text) add(path, from, to);
  }
  for (const [path, to] of now) if (!old.has(path)) add(path, undefined, to);
  return { fields, omitted };
}
