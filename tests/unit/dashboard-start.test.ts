// The dashboard's start dialogs (pure parts): form ↔ scope, 400 details placed at their fields, the start
// answer's meaning; and the board's custom time range and multi-type filter in the URL.
import { describe, expect, it } from 'vitest';
import { filterSearch, fromLocalInput, parseFilter, toggleType, toLocalInput, withCustomRange, withPreset } from '../../dashboard/src/lib/filters.ts';
import { filterWindow, matchesFilter, type BoardFilter, type BoardRun } from '../../dashboard/src/lib/runs-store.ts';
import { fieldsOf, formFor, humanize, initialValues, placeErrors, roleReason, toScope } from '../../dashboard/src/lib/start-forms.ts';
import { outcomeOfAnswer, outcomeOfError } from '../../dashboard/src/lib/start-outcome.ts';

const batch = formFor({ type: 'demo.batch' });

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
    expect(fieldsOf(formFor({ type: 'runs.purge' }))).toMatchObject([{ name: 'olderThanDays', kind: 'number', min: 1, max: 3650 }]);
    expect(fieldsOf(formFor({ type: 'demo.external' }))).toMatchObject([{ name: 'key', kind: 'text', maxLength: 200 }]);
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

  it('offers a JSON box for types it has no form for, which must hold an object', () => {
    const form = formFor({ type: 'backup_set.add_policies' });
    expect(fieldsOf(form)).toMatchObject([{ kind: 'json', name: 'scope' }]);
    expect(initialValues(form)).toEqual({ scope: '{}' });
    expect(toScope(form, { scope: '{"policies": ["a"], "dryRun": true}' })).toEqual({ ok: true, scope: { policies: ['a'], dryRun: true } });
    expect(toScope(form, { scope: '  ' })).toEqual({ ok: true, scope: {} });
    expect(toScope(form, { scope: '{"a":' })).toEqual({ ok: false, errors: { scope: 'This is not valid JSON.' } });
    expect(toScope(form, { scope: '[1]' })).toMatchObject({ ok: false, errors: { scope: expect.stringMatching(/JSON object/) } });
    expect(toScope(form, { scope: 'null' })).toMatchObject({ ok: false });
  });
});

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
    const form = formFor({ type: 'x.y' });
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
