// The start dialogs' forms (CONTRACT §6 start surfaces): one declaration per operation type the dashboard
// knows how to ask about, a JSON box for any other, and the pure steps around them — form values → scope,
// the API's 400 details → messages at the fields. The server's schema stays the one authority on what is
// valid: the form only turns what was typed into JSON, and shows the server's answer where it belongs.
// Type-only, from the server's own definition (api.ts is not imported: these helpers also run in Node tests).
import type { Role } from '../../../db/access/roles.ts';

type Base = { name: string; label: string; hint?: string; wide?: boolean };
export type NumberField = Base & { kind: 'number'; min?: number; max?: number; default?: number; placeholder?: string };
export type TextField = Base & { kind: 'text'; maxLength?: number; default?: string; placeholder?: string };
export type CheckboxField = Base & { kind: 'checkbox' };
/** The whole scope as JSON, for types without a declared form. */
export type JsonField = Base & { kind: 'json'; name: 'scope' };
export type ScopeField = NumberField | TextField | CheckboxField | JsonField;

export type FieldGroup = { legend?: string; fields: ScopeField[] };
export type ScopeForm = {
  type: string;
  groups: FieldGroup[];
  /** Something to know before starting (what the run does that cannot be undone, who carries it out). */
  note?: { tone: 'info' | 'warning'; text: string };
};

/** Field values as the inputs hold them: text for number and text inputs, booleans for checkboxes. */
export type FormValues = Record<string, string | boolean>;

const KEY_HINT = 'Optional. An identical scope joins the active run; another key starts a separate one.';

/** Forms of the types the dashboard knows; their fields follow the types' scope schemas (db/catalog). */
const FORMS: Record<string, Omit<ScopeForm, 'type'>> = {
  'demo.batch': {
    groups: [
      {
        fields: [
          { kind: 'number', name: 'items', label: 'Items', min: 0, max: 100_000, default: 10, hint: '0 to 100,000.' },
          { kind: 'number', name: 'itemMs', label: 'Time per item (ms)', min: 0, max: 60_000, default: 50, hint: '0 to 60,000 ms.' },
        ],
      },
      {
        legend: 'Simulated failures',
        fields: [
          { kind: 'number', name: 'failEvery', label: 'Fail every nth item', min: 1, max: 100_000, placeholder: 'Never', hint: 'Empty: no item fails.' },
          { kind: 'text', name: 'failCode', label: 'Failure code', maxLength: 64, default: 'item_failed', hint: 'snake_case, e.g. item_failed.' },
          { kind: 'text', name: 'failMessage', label: 'Failure message', maxLength: 2000, wide: true, hint: 'Optional. Empty: “Item N failed.”' },
          { kind: 'checkbox', name: 'abort', label: 'Abort before the first item (the run fails as a whole)', wide: true },
        ],
      },
      { fields: [{ kind: 'text', name: 'key', label: 'Key', maxLength: 200, wide: true, hint: KEY_HINT }] },
    ],
  },
  'demo.external': {
    groups: [{ fields: [{ kind: 'text', name: 'key', label: 'Key', maxLength: 200, wide: true, hint: KEY_HINT }] }],
    note: {
      tone: 'info',
      text: 'An outside system carries out this work and reports its progress. The run stays queued until it does.',
    },
  },
  'runs.purge': {
    groups: [
      {
        fields: [
          {
            kind: 'number',
            name: 'olderThanDays',
            label: 'Older than (days)',
            min: 1,
            max: 3650,
            placeholder: 'Retention window',
            hint: '1 to 3,650. Empty: the configured retention window.',
          },
        ],
      },
    ],
    note: { tone: 'warning', text: 'Deletes runs and their notifications for good. This cannot be undone.' },
  },
};

export function formFor(type: { type: string }): ScopeForm {
  const known = FORMS[type.type];
  if (known) return { type: type.type, ...known };
  return {
    type: type.type,
    groups: [
      {
        fields: [
          {
            kind: 'json',
            name: 'scope',
            label: 'Scope (JSON)',
            wide: true,
            hint: 'A JSON object with the scope of this operation type; {} uses its defaults.',
          },
        ],
      },
    ],
  };
}

export function fieldsOf(form: ScopeForm): ScopeField[] {
  return form.groups.flatMap((group) => group.fields);
}

export function initialValues(form: ScopeForm): FormValues {
  const values: FormValues = {};
  for (const field of fieldsOf(form)) {
    if (field.kind === 'checkbox') values[field.name] = false;
    else if (field.kind === 'json') values[field.name] = '{}';
    else values[field.name] = field.default !== undefined ? String(field.default) : '';
  }
  return values;
}

export type ScopeResult = { ok: true; scope: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/**
 * The scope to send. Empty fields and unticked boxes are left out (the type's defaults apply), so the scope
 * equals what an API client would send for the same intent — it is the run's identity for joining active runs.
 * `badInput`: number inputs holding text the browser could not read as a number (their value is '').
 */
export function toScope(form: ScopeForm, values: FormValues, badInput: ReadonlySet<string> = new Set()): ScopeResult {
  const scope: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fieldsOf(form)) {
    const value = values[field.name];
    if (field.kind === 'checkbox') {
      if (value === true) scope[field.name] = true;
      continue;
    }
    const text = typeof value === 'string' ? value : '';
    if (field.kind === 'number') {
      if (badInput.has(field.name)) {
        errors[field.name] = 'Enter a number.';
        continue;
      }
      if (text.trim() === '') continue;
      const number = Number(text);
      if (!Number.isFinite(number)) errors[field.name] = 'Enter a number.';
      else scope[field.name] = number;
    } else if (field.kind === 'text') {
      if (text !== '') scope[field.name] = text;
    } else {
      const parsed = parseJsonObject(text);
      if (parsed.ok) Object.assign(scope, parsed.value);
      else errors[field.name] = parsed.error;
    }
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, scope };
}

function parseJsonObject(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'This is not valid JSON.' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'Enter a JSON object, such as {"key": "value"}.' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

export type ErrorDetail = { path: string; message: string };
export type PlacedErrors = { fields: Record<string, string>; general: string[] };

/**
 * Puts each 400 detail at its field: `scope.items` → the items field; with the JSON box, every `scope…`
 * path goes there (with the path, which the box cannot point at). Anything else is a general error.
 */
export function placeErrors(form: ScopeForm, details: readonly ErrorDetail[]): PlacedErrors {
  const fields = fieldsOf(form);
  const json = fields.find((f) => f.kind === 'json');
  const placed: Record<string, string[]> = {};
  const general: string[] = [];
  const add = (name: string, message: string) => (placed[name] ??= []).push(message);
  for (const detail of details) {
    const [root, name, ...rest] = detail.path.split('.');
    if (root === 'scope' && json) {
      const where = [name, ...rest].filter(Boolean).join('.');
      add(json.name, where ? `${where}: ${sentence(detail.message)}` : sentence(detail.message));
      continue;
    }
    const field = root === 'scope' && name ? fields.find((f) => f.name === name) : undefined;
    if (field) add(field.name, humanize(field, detail.message));
    else general.push(detail.path === 'scope' || detail.path === '' ? sentence(detail.message) : `${detail.path}: ${detail.message}`);
  }
  const result: Record<string, string> = {};
  // One message a line (the view keeps the line breaks).
  for (const [name, messages] of Object.entries(placed)) result[name] = [...new Set(messages)].join('\n');
  return { fields: result, general };
}

const count = new Intl.NumberFormat('en-US');

/** The server's words (zod's) in the form's terms when the field says more, e.g. its range. */
export function humanize(field: ScopeField, message: string): string {
  if (field.kind === 'number' && /too (small|big)|expected int|expected number/i.test(message)) {
    const { min, max } = field;
    if (min !== undefined && max !== undefined) return `Enter a whole number from ${count.format(min)} to ${count.format(max)}.`;
    if (min !== undefined) return `Enter a whole number of at least ${count.format(min)}.`;
    return 'Enter a whole number.';
  }
  if (field.kind === 'text' && field.maxLength !== undefined && /too big/i.test(message)) {
    return `Use at most ${count.format(field.maxLength)} characters.`;
  }
  return sentence(message);
}

function sentence(message: string): string {
  const text = message.trim();
  if (!text) return 'This value is not valid.';
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

const ROLE_NAMES: Record<Role, string> = { owner: 'owner', manager: 'manager', operator: 'operator', readonly: 'read-only' };

/** Why a member may not start a type: its minimum role, in words. */
export function roleReason(minRole: Role): string {
  return minRole === 'owner' ? 'Needs the owner role' : `Needs the ${ROLE_NAMES[minRole]} role or higher`;
}

export function roleName(role: Role): string {
  const name = ROLE_NAMES[role];
  return name.charAt(0).toUpperCase() + name.slice(1);
}
