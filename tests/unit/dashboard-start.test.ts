// The dashboard's start dialogs (pure parts): forms built from the types' scope schemas, form ↔ scope, 400
// details placed at their fields, the start answer's meaning; and the board's custom time range and
// multi-type filter in the URL.
import { NO_BASELINE } from '../../db/runs/baselines.ts';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../db/catalog/catalog.ts';
import { scopeSchemaOf } from '../../db/catalog/types.ts';
import type { OperationTypeView } from '../../server/http/contract.ts';
import { filterSearch, fromLocalInput, parseFilter, toggleType, toLocalInput, withCustomRange, withPreset } from '../../dashboard/src/lib/filters.ts';
import { filterWindow, matchesFilter, type BoardFilter, type BoardRun } from '../../dashboard/src/lib/runs-store.ts';
import { fieldsOf, formFor, humanize, initialValues, placeErrors, roleReason, toScope, type ScopeField } from '../../dashboard/src/lib/start-forms.ts';
import { outcomeOfAnswer, outcomeOfError } from '../../dashboard/src/lib/start-outcome.ts';


const catalog = Catalog.forConfig({ demoOperations: true });
/** A type as `GET …/operation-types` answers it, for the catalog's own declaration of it. */
const viewOf = (type: string): OperationTypeView => catalog.view(catalog.get(type)!, 'owner', undefined, NO_BASELINE);
/** A type unknown to the catalog, whose scope schema says what the server would. */
const otherType = (type: string, scopeSchema: Record<string, unknown>): OperationTypeView => {
  const { startNote: _none, ...view } = viewOf('demo.batch');
  return { ...view, type, label: type, scopeSchema };
};
const batch = formFor(viewOf('demo.batch'));

describe('start forms', () => {
  it('demo.batch asks for every field of its scope, with the catalog bounds', () => {
    const fields = fieldsOf(batch);
    expect(fields.map((f) => [f.name, f.kind])).toEqual([
      ['items', 'number'],
      ['itemMs', 'number'],
      ['failEvery', 'number'],
      ['failCode', 'text'],
      ['failMessage', 'text'],
      ['abort', 'checkbox'],
      ['key', 'text'],
    ]);
    expect(fields[0]).toMatchObject({ min: 0, max: 100_000, default: 10 });
    expect(fields[1]).toMatchObject({ min: 0, max: 60_000, default: 50 });
    expect(fieldsOf(formFor(viewOf('runs.purge')))).toMatchObject([{ name: 'olderThanDays', kind: 'number', min: 1, max: 3650 }]);
    expect(fieldsOf(formFor(viewOf('demo.external')))).toMatchObject([{ name: 'key', kind: 'text', maxLength: 200 }]);
  });

  it('starts from the defaults and sends what was typed, leaving empty fields and unticked boxes out', () => {
    const values = initialValues(batch);
    expect(values).toEqual({ items: '10', itemMs: '50', failEvery: '', failCode: 'item_failed', failMessage: '', abort: false, key: '' });
    expect(toScope(batch, values)).toEqual({ ok: true, scope: { items: 10, itemMs: 50, failCode: 'item_failed' } });
    expect(toScope(batch, { ...values, items: '30', failEvery: '7', abort: true, key: 'nightly', failMessage: 'Boom' })).toEqual({
      ok: true,
      scope: { items: 30, itemMs: 50, failEvery: 7, failCode: 'item_failed', failMessage: 'Boom', abort: true, key: 'nightly' },
    });
    // Out-of-range numbers go to the server as typed: its schema is the one that decides.
    expect(toScope(batch, { ...values, items: '-1' })).toMatchObject({ ok: true, scope: { items: -1 } });
    expect(toScope(batch, { ...values, items: '' })).toEqual({ ok: true, scope: { itemMs: 50, failCode: 'item_failed' } });
  });

  it('refuses numbers the browser could not read', () => {
    const values = initialValues(batch);
    expect(toScope(batch, values, new Set(['itemMs']))).toEqual({ ok: false, errors: { itemMs: 'Enter a number.' } });
    expect(toScope(batch, { ...values, items: '1e999' })).toEqual({ ok: false, errors: { items: 'Enter a number.' } });
  });

  it('offers a JSON box for scopes it cannot ask field by field, which must hold an object', () => {
    const form = formFor(
      otherType('backup_set.add_policies', {
        type: 'object',
        properties: { policies: { type: 'array', items: { type: 'string' } }, dryRun: { type: 'boolean' } },
      }),
    );
    expect(fieldsOf(form)).toMatchObject([{ kind: 'json', name: 'scope' }]);
    expect(initialValues(form)).toEqual({ scope: '{}' });
    expect(toScope(form, { scope: '{"policies": ["a"], "dryRun": true}' })).toEqual({ ok: true, scope: { policies: ['a'], dryRun: true } });
    expect(toScope(form, { scope: '  ' })).toEqual({ ok: true, scope: {} });
    expect(toScope(form, { scope: '{"a":' })).toEqual({ ok: false, errors: { scope: 'This is not valid JSON.' } });
    expect(toScope(form, { scope: '[1]' })).toMatchObject({ ok: false, errors: { scope: expect.stringMatching(/JSON object/) } });
    expect(toScope(form, { scope: 'null' })).toMatchObject({ ok: false });
  });
});

describe('start forms from the scope schemas', () => {
  it.each(catalog.all().map((d) => [d.type, d] as const))('%s: the form follows the scope schema, and its defaults make a valid scope', (_, declaration) => {
    const form = formFor(catalog.view(declaration, 'owner', undefined, NO_BASELINE));
    const schema = scopeSchemaOf(declaration) as { properties: Record<string, Record<string, unknown>>; required?: string[] };
    const fields = fieldsOf(form);
    if (fields[0]?.kind === 'json') {
      // Asked for whole, as JSON, only when some property is none of the kinds a field can be.
      expect(Object.values(schema.properties).some((p) => !['integer', 'number', 'string', 'boolean'].includes(p.type as string))).toBe(true);
      return;
    }
    expect(fields.map((f) => f.name)).toEqual(Object.keys(schema.properties));
    for (const field of fields) {
      const property = schema.properties[field.name]!;
      const expected: Record<string, unknown> = { label: property.title ?? expect.any(String), required: schema.required?.includes(field.name) || undefined };
      if (field.kind === 'number') Object.assign(expected, { min: property.minimum, max: property.maximum, default: property.default });
      else if (field.kind === 'text') Object.assign(expected, { maxLength: property.maxLength, default: property.default });
      else expect(field.kind).toBe('checkbox');
      expect({ field: field.name, ...pick(field, Object.keys(expected)) }).toEqual({ field: field.name, ...expected });
    }
    // What the form sends untouched is a scope the type accepts, short of the fields it marks required.
    const scope = toScope(form, initialValues(form));
    expect(scope.ok).toBe(true);
    const missing = scope.ok ? (declaration.scope.safeParse(scope.scope).error?.issues ?? []).map((i) => i.path.join('.')) : [];
    expect(missing.sort()).toEqual(fields.filter((f) => f.required && initialValues(form)[f.name] === '').map((f) => f.name).sort());
  });

  it('groups consecutive properties of one group under its legend, and carries wide fields, hints and the note', () => {
    expect(batch.groups.map((g) => [g.legend, g.fields.map((f) => f.name)])).toEqual([
      [undefined, ['items', 'itemMs']],
      ['Simulated failures', ['failEvery', 'failCode', 'failMessage', 'abort']],
      [undefined, ['key']],
    ]);
    expect(fieldsOf(batch).filter((f) => f.wide).map((f) => f.name)).toEqual(['failMessage', 'abort', 'key']);
    expect(fieldsOf(batch)[2]).toMatchObject({ placeholder: 'Never', hint: 'Empty: no item fails.' });
    expect(batch.note).toBeUndefined();
    expect(formFor(viewOf('runs.purge')).note).toEqual({ tone: 'warning', text: expect.stringMatching(/cannot be undone/) });
  });

  it('reads numbers, exclusive bounds of whole numbers, and names without a title', () => {
    const form = formFor(
      otherType('x.y', {
        type: 'object',
        properties: {
          ratio: { type: 'number', minimum: 0, maximum: 1 },
          batchSize: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 1000 },
          dryRun: { type: 'boolean', default: true },
        },
      }),
    );
    expect(fieldsOf(form)).toMatchObject([
      { kind: 'number', name: 'ratio', label: 'Ratio', integer: false, min: 0, max: 1 },
      { kind: 'number', name: 'batchSize', label: 'Batch size', integer: true, min: 1, max: 999 },
      { kind: 'checkbox', name: 'dryRun', default: true },
    ]);
    // A box ticked by default starts ticked; unticked it says false (left out, the default would tick it again).
    expect(toScope(form, initialValues(form))).toEqual({ ok: true, scope: { dryRun: true } });
    expect(toScope(form, { ...initialValues(form), dryRun: false })).toEqual({ ok: true, scope: { dryRun: false } });
    expect(humanize(fieldsOf(form)[0]!, 'Too big: expected number to be <=1')).toBe('Enter a number from 0 to 1.');
  });

  it.each([
    ['an array', { list: { type: 'array', items: { type: 'string' } } }],
    ['an object', { nested: { type: 'object', properties: {} } }],
    ['a union', { either: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }],
    ['a nullable number', { count: { type: ['integer', 'null'] } }],
  ])('falls back to the JSON box for a scope with %s', (_, properties) => {
    expect(fieldsOf(formFor(otherType('x.y', { type: 'object', properties })))).toMatchObject([{ kind: 'json', name: 'scope' }]);
  });

  it('falls back to the JSON box for open records and answers without a schema', () => {
    const record = { type: 'object', properties: {}, additionalProperties: { type: 'string' } };
    expect(fieldsOf(formFor(otherType('x.y', record)))).toMatchObject([{ kind: 'json' }]);
    const older = { type: 'x.y' } as unknown as OperationTypeView;
    expect(fieldsOf(formFor(older))).toMatchObject([{ kind: 'json' }]);
  });
});

function pick(field: ScopeField, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((key) => [key, (field as Record<string, unknown>)[key]]));
}

describe('validation errors at the fields', () => {
  it('puts scope.items at the items field, in the form’s words', () => {
    const placed = placeErrors(batch, [
      { path: 'scope.items', message: 'Too small: expected number to be >=0' },
      { path: 'scope.failCode', message: 'must be snake_case' },
    ]);
    expect(placed).toEqual({
      fields: { items: 'Enter a whole number from 0 to 100,000.', failCode: 'Must be snake_case.' },
      general: [],
    });
  });

  it('keeps what matches no field as a general error', () => {
    const placed = placeErrors(batch, [
      { path: 'scope', message: 'Unrecognized key: "extra"' },
      { path: 'type', message: 'Unknown operation type.' },
      { path: 'scope.nope', message: 'Invalid' },
    ]);
    expect(placed.fields).toEqual({});
    expect(placed.general).toEqual(['Unrecognized key: "extra".', 'type: Unknown operation type.', 'scope.nope: Invalid']);
  });

  it('puts every scope path in the JSON box, with its path', () => {
    const form = formFor(otherType('x.y', {}));
    const placed = placeErrors(form, [
      { path: 'scope.items', message: 'Too small' },
      { path: 'scope', message: 'is nested too deeply' },
    ]);
    expect(placed).toEqual({ fields: { scope: 'items: Too small.\nIs nested too deeply.' }, general: [] });
  });

  it('says a field’s limits rather than zod’s', () => {
    const [items, , failEvery, , failMessage] = fieldsOf(batch);
    expect(humanize(items!, 'Invalid input: expected int, received number')).toBe('Enter a whole number from 0 to 100,000.');
    expect(humanize(failEvery!, 'Too big: expected number to be <=100000')).toBe('Enter a whole number from 1 to 100,000.');
    expect(humanize(failMessage!, 'Too big: expected string to have <=2000 characters')).toBe('Use at most 2,000 characters.');
  });

  it('names the role a member lacks', () => {
    expect(roleReason('operator')).toBe('Needs the operator role or higher');
    expect(roleReason('owner')).toBe('Needs the owner role');
  });
});

describe('the start answer', () => {
  const run = { id: '0b0c8a3e-4a59-4c1f-9a38-1e1c1e1c1e1c' };

  it('202 is a queued run, 200 reused is the active run joined, both with the run’s link', () => {
    expect(outcomeOfAnswer('acme', { run, reused: false, url: `/t/acme/operations/${run.id}` })).toEqual({
      kind: 'queued',
      runId: run.id,
      url: `/t/acme/operations/${run.id}`,
    });
    expect(outcomeOfAnswer('acme', { run, reused: true, url: `/t/acme/operations/${run.id}` })).toMatchObject({ kind: 'joined' });
  });

  it('never links to another origin', () => {
    expect(outcomeOfAnswer('acme', { run, reused: false, url: '//evil.example/x' })).toMatchObject({ url: `/t/acme/operations/${run.id}` });
    expect(outcomeOfAnswer('acme', { run, reused: false, url: 'https://evil.example/' })).toMatchObject({ url: `/t/acme/operations/${run.id}` });
  });

  it('400 carries its details; 503 dispatch_failed links the failed run; others are one message', () => {
    const details = [{ path: 'scope.items', message: 'Too small' }, { bogus: true }];
    expect(outcomeOfError('acme', 400, 'validation_failed', 'The scope is not valid.', { error: { details } })).toEqual({
      kind: 'invalid',
      message: 'The scope is not valid.',
      details: [{ path: 'scope.items', message: 'Too small' }],
    });
    expect(outcomeOfError('acme', 503, 'dispatch_failed', 'Could not be queued.', { error: {}, run })).toEqual({
      kind: 'dispatch_failed',
      message: 'Could not be queued.',
      runId: run.id,
      url: `/t/acme/operations/${run.id}`,
    });
    expect(outcomeOfError('acme', 403, 'forbidden', 'No.', null)).toMatchObject({ kind: 'error', message: expect.stringMatching(/role/) });
    expect(outcomeOfError('acme', 0, 'network', 'The server cannot be reached.', null)).toEqual({
      kind: 'error',
      message: 'The server cannot be reached.',
    });
  });
});

describe('board: custom time range and several types', () => {
  const from = '2026-11-23T08:00:00.000Z';
  const to = '2026-11-23T12:00:00.000Z';

  it('round-trips from/to as ISO instants, leaving the preset out', () => {
    const filter = parseFilter(new URLSearchParams(`type=demo.batch&type=runs.purge&from=${from}&to=2026-11-23T13:00:00%2B01:00&range=24h`));
    expect(filter).toEqual({ types: ['demo.batch', 'runs.purge'], buckets: [], range: '24h', from, to });
    expect(filterSearch(filter)).toBe(`?type=demo.batch&type=runs.purge&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  });

  it('ignores from/to that are not a date and time', () => {
    expect(parseFilter(new URLSearchParams('from=yesterday&to=2026-11-23'))).toEqual({ types: [], buckets: [], range: '30d' });
  });

  it('a preset drops the custom range; the inputs make one, or say why not', () => {
    const custom: BoardFilter = { types: ['demo.batch'], buckets: ['failed'], range: '30d', from, to };
    expect(withPreset(custom, '1h')).toEqual({ types: ['demo.batch'], buckets: ['failed'], range: '1h' });
    const made = withCustomRange(custom, toLocalInput(from), toLocalInput(to));
    expect(made).toEqual({ filter: custom });
    expect(withCustomRange(custom, toLocalInput(to), toLocalInput(from))).toEqual({ error: 'The end must be after the start.' });
    expect(withCustomRange(custom, '', '')).toMatchObject({ error: expect.any(String) });
    expect(withCustomRange(custom, toLocalInput(from), '')).toEqual({ filter: { types: ['demo.batch'], buckets: ['failed'], range: '30d', from } });
  });

  it('datetime-local values are the viewer’s local time', () => {
    expect(toLocalInput(from)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    expect(fromLocalInput(toLocalInput(from))).toBe(from);
    expect(fromLocalInput('2026-11-23T08:00')).toBe(new Date(2026, 10, 23, 8, 0).toISOString());
    expect(fromLocalInput('not a date')).toBeNull();
  });

  it('the custom window applies to runs pushed live (to is exclusive, like the API)', () => {
    const now = Date.parse('2026-11-24T00:00:00Z');
    const at = (createdAt: string) => ({ type: 'demo.batch', bucket: 'running', createdAt }) as BoardRun;
    const filter: BoardFilter = { types: [], buckets: [], range: '30d', from, to };
    expect(filterWindow(filter, now)).toEqual({ from: Date.parse(from), to: Date.parse(to) });
    expect(matchesFilter(at('2026-11-23T09:00:00Z'), filter, now)).toBe(true);
    expect(matchesFilter(at(to), filter, now)).toBe(false);
    expect(matchesFilter(at('2026-11-23T07:59:59Z'), filter, now)).toBe(false);
    // Open towards now: new runs keep arriving.
    expect(matchesFilter(at('2026-11-23T23:59:00Z'), { ...filter, to: undefined }, now)).toBe(true);
    // Only an end: the 30 days before it.
    expect(filterWindow({ ...filter, from: undefined }, now).from).toBe(Date.parse(to) - 30 * 86_400_000);
  });

  it('toggles types in the order they are offered', () => {
    const base: BoardFilter = { types: [], buckets: [], range: '30d' };
    const order = ['demo.batch', 'demo.external', 'runs.purge'];
    const two = toggleType(toggleType(base, 'runs.purge', order), 'demo.batch', order);
    expect(two.types).toEqual(['demo.batch', 'runs.purge']);
    expect(toggleType(two, 'demo.batch', order).types).toEqual(['runs.purge']);
  });
});
