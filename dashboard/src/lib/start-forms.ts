// The start dialogs' forms (docs/api.md §6 start surfaces), built from each operation type's scope schema (the
// JSON Schema the server derives from the type's own validator), a JSON box for a scope the builder cannot
// represent, and the pure steps around them: form values → scope, the API's 400 details → messages at the
// fields. The server's schema stays the one authority on what is valid: the form only turns what was typed
// into JSON, and shows the server's answer where it belongs.
// Type-only, from the server's own contract (api.ts is not imported: these helpers also run in Node tests).
import type { ErrorBody, OperationTypeView, Role } from '../../../server/http/contract.ts';

/** `required`: the scope must have it (no default applies when it is left empty). */
type Base = { name: string; label: string; hint?: string; wide?: boolean; required?: boolean };
/** `integer`: whole numbers only (JSON Schema `integer`), else any number. */
export type NumberField = Base & { kind: 'number'; integer: boolean; min?: number; max?: number; default?: number; placeholder?: string };
export type TextField = Base & { kind: 'text'; maxLength?: number; default?: string; placeholder?: string };
export type CheckboxField = Base & { kind: 'checkbox'; default?: boolean };
/** The whole scope as JSON, for scopes the form cannot represent field by field. */
export type JsonField = Base & { kind: 'json'; name: 'scope' };
export type ScopeField = NumberField | TextField | CheckboxField | JsonField;

export type FieldGroup = { legend?: string; fields: ScopeField[] };
export type ScopeForm = {
  type: string;
  groups: FieldGroup[];
  /** Something to know before starting (what the run does that cannot be undone, who carries it out). */
  note?: OperationTypeView['startNote'];
};

/** Field values as the inputs hold them: text for number and text inputs, booleans for checkboxes. */
export type FormValues = Record<string, string | boolean>;

/** What the form needs of an operation type: its name, its scope's JSON Schema and its note. */
export type FormSource = Pick<OperationTypeView, 'type' | 'scopeSchema' | 'startNote'>;

/**
 * The start form of a type, derived from its scope schema: one field per property, in order (integer and
 * number → number field, string → text field, boolean → checkbox), with the schema's title, description
 * (the hint), bounds and default; consecutive properties of one `group` share a fieldset. A scope with a
 * property that is none of these (an array, an object, a union) is asked for whole, as JSON.
 */
export function formFor(type: FormSource): ScopeForm {
  const note = type.startNote ? { note: type.startNote } : {};
  const fields = fieldsFromSchema(type.scopeSchema);
  if (!fields) return { type: type.type, groups: [{ fields: [jsonField()] }], ...note };
  const groups: FieldGroup[] = [];
  for (const { field, group } of fields) {
    const last = groups.at(-1);
    if (last && last.legend === group) last.fields.push(field);
    else groups.push({ ...(group !== undefined ? { legend: group } : {}), fields: [field] });
  }
  return { type: type.type, groups, ...note };
}

function jsonField(): JsonField {
  const hint = 'A JSON object with the scope of this operation type; {} uses its defaults.';
  return { kind: 'json', name: 'scope', label: 'Scope (JSON)', wide: true, hint };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/** The fields of an object schema, or null when a property (or the object itself) cannot be one field each. */
function fieldsFromSchema(schema: unknown): { field: ScopeField; group: string | undefined }[] | null {
  if (!isObject(schema) || schema.type !== 'object' || !isObject(schema.properties)) return null;
  // Keys beyond the declared properties, by name pattern or schema: only JSON can say them.
  if (isObject(schema.additionalProperties) || schema.patternProperties !== undefined) return null;
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields: { field: ScopeField; group: string | undefined }[] = [];
  for (const [name, property] of Object.entries(schema.properties)) {
    if (!isObject(property)) return null;
    const field = fieldOf(name, property, required.has(name));
    if (!field) return null;
    fields.push({ field, group: text(property.group) });
  }
  return fields;
}

function fieldOf(name: string, property: Record<string, unknown>, required: boolean): ScopeField | null {
  const hint = text(property.description);
  const placeholder = text(property.placeholder);
  const base: Base = {
    name,
    label: text(property.title) ?? labelOfName(name),
    ...(hint ? { hint } : {}),
    ...(property.wide === true ? { wide: true } : {}),
    ...(required ? { required: true } : {}),
  };
  const withPlaceholder = placeholder ? { placeholder } : {};
  switch (property.type) {
    case 'integer':
    case 'number': {
      const integer = property.type === 'integer';
      const min = bound(property.minimum, property.exclusiveMinimum, integer, 'min');
      const max = bound(property.maximum, property.exclusiveMaximum, integer, 'max');
      const value = finite(property.default);
      return {
        ...base,
        kind: 'number',
        integer,
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
        ...(value !== undefined ? { default: value } : {}),
        ...withPlaceholder,
      };
    }
    case 'string': {
      const maxLength = finite(property.maxLength);
      const value = typeof property.default === 'string' ? property.default : undefined;
      return {
        ...base,
        kind: 'text',
        ...(maxLength !== undefined ? { maxLength } : {}),
        ...(value !== undefined ? { default: value } : {}),
        ...withPlaceholder,
      };
    }
    case 'boolean':
      return { ...base, kind: 'checkbox', ...(typeof property.default === 'boolean' ? { default: property.default } : {}) };
    default:
      return null;
  }
}

/** An inclusive bound; an exclusive one of a whole number is the next whole number in (of any number, the server's to check). */
function bound(inclusive: unknown, exclusive: unknown, integer: boolean, side: 'min' | 'max'): number | undefined {
  const value = finite(inclusive);
  if (value !== undefined) return value;
  const open = finite(exclusive);
  if (!integer || open === undefined) return undefined;
  return side === 'min' ? Math.floor(open) + 1 : Math.ceil(open) - 1;
}

/** `olderThanDays` → `Older than days`, for a property the schema gave no title. */
function labelOfName(name: string): string {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replaceAll('_', ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function fieldsOf(form: ScopeForm): ScopeField[] {
  return form.groups.flatMap((group) => group.fields);
}

export function initialValues(form: ScopeForm): FormValues {
  const values: FormValues = {};
  for (const field of fieldsOf(form)) {
    if (field.kind === 'checkbox') values[field.name] = field.default ?? false;
    else if (field.kind === 'json') values[field.name] = '{}';
    else values[field.name] = field.default !== undefined ? String(field.default) : '';
  }
  return values;
}

/**
 * The form's values for starting again with a run's scope ("Run again"): each field takes the scope's value
 * of its name as its input holds it, a field the scope does not name keeps its default, and scope keys the
 * form has no field for are dropped (with the JSON box: keys the schema does not declare, when it allows no
 * others). A value is not judged here: one that does not fit any more is sent as shown and the server's answer
 * is placed at its field, like anything typed (a checkbox can only show a boolean: another value keeps its
 * default). `null` leaves the field empty, so the type's default applies.
 */
export function prefillValues(form: ScopeForm, scope: Readonly<Record<string, unknown>>, schema?: unknown): FormValues {
  const values = initialValues(form);
  for (const field of fieldsOf(form)) {
    if (field.kind === 'json') {
      values[field.name] = JSON.stringify(declaredPart(scope, schema), null, 2);
      continue;
    }
    if (!Object.hasOwn(scope, field.name)) continue;
    const value = scope[field.name];
    if (field.kind === 'checkbox') {
      if (typeof value === 'boolean') values[field.name] = value;
    } else if (value === null || value === undefined) {
      values[field.name] = '';
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      values[field.name] = String(value);
    }
  }
  return values;
}

/** The keys of a scope its schema declares, when the schema allows no others; else the whole scope. */
function declaredPart(scope: Readonly<Record<string, unknown>>, schema: unknown): Record<string, unknown> {
  if (!isObject(schema) || !isObject(schema.properties) || schema.additionalProperties !== false || schema.patternProperties !== undefined) {
    return { ...scope };
  }
  const declared = schema.properties;
  return Object.fromEntries(Object.entries(scope).filter(([key]) => Object.hasOwn(declared, key)));
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
      // Ticked, or unticked where the type's default is ticked: otherwise the default says the same.
      if (value === true) scope[field.name] = true;
      else if (field.default === true) scope[field.name] = false;
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

export type ErrorDetail = NonNullable<ErrorBody['error']['details']>[number];
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
    const what = field.integer ? 'a whole number' : 'a number';
    if (min !== undefined && max !== undefined) return `Enter ${what} from ${count.format(min)} to ${count.format(max)}.`;
    if (min !== undefined) return `Enter ${what} of at least ${count.format(min)}.`;
    if (max !== undefined) return `Enter ${what} of at most ${count.format(max)}.`;
    return `Enter ${what}.`;
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
