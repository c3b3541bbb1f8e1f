// The policy pages' pure helpers (dashboard/src/lib: policies.ts, drift-view.ts, restore-view.ts, selection.ts,
// source-form.ts, permissions.ts): URL filters, words, the restore's stepper and confirmation sentence, the
// picker's selection and bounds, and the source form's body and error placement.
import { describe, expect, it } from 'vitest';
import { appendPage } from '../../dashboard/src/lib/pages.ts';
import { changeSummary, driftSearch, groupByChange, parseDriftFilter, type DriftFinding } from '../../dashboard/src/lib/drift-view.ts';
import { both, mayConfigureSource, mayStart } from '../../dashboard/src/lib/permissions.ts';
import { fieldValue, hashPrefix, inventorySearch, parseInventoryFilter, policyTypeLabel, sameInventoryFilter } from '../../dashboard/src/lib/policies.ts';
import { canDiscard, canExecute, canPreview, executeSummary, itemsByAction, restoreSteps, resultCounts, type RestoreItem } from '../../dashboard/src/lib/restore-view.ts';
import { arrayBounds, chosenText, selectionProblem, toggleId, toggleVisible, visibleState } from '../../dashboard/src/lib/selection.ts';
import { placeSourceErrors, sourceBody, sourceFormValues } from '../../dashboard/src/lib/source-form.ts';
import { backupAddPolicies } from '../../db/catalog/operations.ts';
import { scopeSchemaOf } from '../../db/catalog/types.ts';

const params = (query: string) => new URLSearchParams(query);

describe('inventory filters and words', () => {
  it('round-trips q and type through the URL, leaving defaults out', () => {
    expect(parseInventoryFilter(params(''))).toEqual({ q: '', policyType: '' });
    const filter = parseInventoryFilter(params('q=compliance&type=%23microsoft.graph.iosCompliancePolicy'));
    expect(filter).toEqual({ q: 'compliance', policyType: '#microsoft.graph.iosCompliancePolicy' });
    expect(inventorySearch(filter)).toBe('?q=compliance&type=%23microsoft.graph.iosCompliancePolicy');
    expect(inventorySearch({ q: '', policyType: '' })).toBe('');
    expect(parseInventoryFilter(params(`q=${'x'.repeat(500)}`)).q).toHaveLength(200);
  });

  it('treats a search that differs only in surrounding spaces as the same', () => {
    expect(sameInventoryFilter({ q: 'abc ', policyType: '' }, { q: 'abc', policyType: '' })).toBe(true);
    expect(sameInventoryFilter({ q: 'abc', policyType: 'a' }, { q: 'abc', policyType: '' })).toBe(false);
  });

  it('says Graph types in words and keeps platform names as they are written', () => {
    expect(policyTypeLabel('#microsoft.graph.windows10GeneralConfiguration')).toBe('Windows 10 general configuration');
    expect(policyTypeLabel('#microsoft.graph.windows10CompliancePolicy')).toBe('Windows 10 compliance policy');
    expect(policyTypeLabel('#microsoft.graph.iosCompliancePolicy')).toBe('iOS compliance policy');
    expect(policyTypeLabel('#microsoft.graph.macOSCompliancePolicy')).toBe('macOS compliance policy');
    expect(policyTypeLabel('#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration')).toBe('Android work profile general device configuration');
    expect(policyTypeLabel('customType')).toBe('customType');
    expect(policyTypeLabel('')).toBe('Unknown type');
  });

  it('shortens hashes and names absent or empty values', () => {
    expect(hashPrefix('0123456789abcdef0123')).toBe('0123456789ab');
    expect(fieldValue(null)).toBe('(absent)');
    expect(fieldValue('')).toBe('(empty)');
    expect(fieldValue('true')).toBe('true');
  });
});

describe('drift view', () => {
  const finding = (id: string, change: DriftFinding['change']): DriftFinding => ({
    id,
    change,
    policy: { externalId: id, name: id, policyType: 't' },
    fields: [],
    fieldsOmitted: 0,
  });

  it('reads run and change from the URL, dropping what cannot be one', () => {
    const id = '0f4c8a3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
    expect(parseDriftFilter(params(`run=${id.toUpperCase()}&change=modified`))).toEqual({ run: id, change: 'modified' });
    expect(parseDriftFilter(params('run=nope&change=renamed'))).toEqual({ run: null, change: null });
    expect(driftSearch({ run: id, change: 'added' })).toBe(`?run=${id}&change=added`);
    expect(driftSearch({ run: null, change: null })).toBe('');
  });

  it('groups findings added, removed, modified, in that order, leaving out empty groups', () => {
    const groups = groupByChange([finding('m1', 'modified'), finding('a1', 'added'), finding('m2', 'modified')]);
    expect(groups.map((g) => [g.change, g.findings.map((f) => f.id)])).toEqual([
      ['added', ['a1']],
      ['modified', ['m1', 'm2']],
    ]);
    expect(changeSummary({ added: 1, removed: 1, modified: 2 })).toBe('1 added · 1 removed · 2 modified');
    expect(changeSummary({ added: 0, removed: 0, modified: 0 })).toBe('No differences');
  });
});

describe('restore view', () => {
  it('names exactly how many policies executing changes', () => {
    expect(executeSummary({ create: 3, update: 4, unchanged: 12 })).toBe('Restore 7 policies: 3 created, 4 updated. 12 unchanged are skipped.');
    expect(executeSummary({ create: 0, update: 1, unchanged: 1 })).toBe('Restore 1 policy: 1 updated. 1 unchanged is skipped.');
    expect(executeSummary({ create: 2, update: 0, unchanged: 0 })).toBe('Restore 2 policies: 2 created.');
    expect(executeSummary({ create: 0, update: 0, unchanged: 5 })).toBe('Nothing to restore: all 5 policies are unchanged.');
  });

  it('walks the stepper through the statuses, ending in the outcome', () => {
    const states = (status: Parameters<typeof restoreSteps>[0], previewed = true) => restoreSteps(status, previewed).map((s) => `${s.label}:${s.state}`);
    expect(states('draft', false)).toEqual(['Draft:current', 'Previewed:upcoming', 'Executing:upcoming', 'Completed:upcoming']);
    expect(states('previewed')).toEqual(['Draft:done', 'Previewed:current', 'Executing:upcoming', 'Completed:upcoming']);
    expect(states('executing')).toEqual(['Draft:done', 'Previewed:done', 'Executing:current', 'Completed:upcoming']);
    expect(states('completed')).toEqual(['Draft:done', 'Previewed:done', 'Executing:done', 'Completed:done']);
    expect(states('completed_with_errors').at(-1)).toBe('Completed with errors:warning');
    expect(states('failed').at(-1)).toBe('Failed:failed');
    expect(states('discarded', false)).toEqual(['Draft:done', 'Discarded:stopped']);
    expect(states('discarded', true)).toEqual(['Draft:done', 'Previewed:done', 'Discarded:stopped']);
  });

  it('offers only the transitions the server accepts from each status', () => {
    expect([canPreview('draft'), canExecute('draft'), canDiscard('draft')]).toEqual([true, false, true]);
    expect([canPreview('previewed'), canExecute('previewed'), canDiscard('previewed')]).toEqual([true, true, true]);
    for (const status of ['executing', 'completed', 'completed_with_errors', 'failed', 'discarded'] as const) {
      expect([canPreview(status), canExecute(status), canDiscard(status)]).toEqual([false, false, false]);
    }
  });

  it('groups items by action and counts results', () => {
    const item = (id: string, action: RestoreItem['action'], result: RestoreItem['result']): RestoreItem => ({
      policy: { externalId: id, name: id, policyType: 't' },
      action,
      fields: [],
      result,
      errorCode: null,
    });
    const items = [item('u', 'update', 'applied'), item('c', 'create', 'failed'), item('n', 'unchanged', 'skipped'), item('m', 'update', null)];
    expect(itemsByAction(items).map((g) => [g.action, g.items.length])).toEqual([
      ['create', 1],
      ['update', 2],
      ['unchanged', 1],
    ]);
    expect(resultCounts(items)).toEqual({ applied: 1, failed: 1, skipped: 1 });
  });
});

describe('policy selection', () => {
  it('toggles one, and all visible (keeping the others chosen)', () => {
    let chosen = toggleId(new Set(), 'a');
    expect([...chosen]).toEqual(['a']);
    chosen = toggleVisible(chosen, ['b', 'c']);
    expect([...chosen].sort()).toEqual(['a', 'b', 'c']);
    expect(visibleState(chosen, ['b', 'c'])).toBe('all');
    chosen = toggleVisible(chosen, ['b', 'c']);
    expect([...chosen]).toEqual(['a']);
    expect(visibleState(chosen, ['a', 'b'])).toBe('some');
    expect(visibleState(chosen, ['b'])).toBe('none');
  });

  it('takes its bounds from the operation type’s own scope schema', () => {
    const bounds = arrayBounds(scopeSchemaOf(backupAddPolicies), 'policyIds', { min: 0, max: 0 });
    expect(bounds).toEqual({ min: 1, max: 500 });
    expect(arrayBounds({}, 'policyIds', { min: 1, max: 9 })).toEqual({ min: 1, max: 9 });
    expect(selectionProblem(0, bounds)).toBe('Choose at least 1 policy.');
    expect(selectionProblem(501, bounds)).toBe('Choose at most 500 policies; 501 are chosen.');
    expect(selectionProblem(3, bounds)).toBeNull();
    expect(chosenText(3, bounds)).toBe('3 chosen · 1–500 per run');
  });
});

describe('the policy source form', () => {
  const simulated = {
    kind: 'simulated' as const,
    baseUrl: null,
    collections: [],
    hasCredential: false,
    simulated: { policies: 40, revision: 2, failItems: ['x'], unavailable: false },
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
  const graph = {
    kind: 'graph' as const,
    baseUrl: 'https://graph.example/beta',
    collections: ['deviceManagement/deviceConfigurations', 'deviceManagement/deviceCompliancePolicies'],
    hasCredential: true,
    updatedAt: '2026-01-01T00:00:00.000Z',
  };

  it('starts from the source as shown, never with a credential in it', () => {
    expect(sourceFormValues(null)).toMatchObject({ kind: 'simulated', policies: '', credential: 'none' });
    expect(sourceFormValues(simulated)).toMatchObject({ kind: 'simulated', policies: '40', revision: '2' });
    const values = sourceFormValues(graph);
    expect(values).toMatchObject({ kind: 'graph', baseUrl: graph.baseUrl, credential: 'keep', token: '', clientSecret: '' });
    expect(values.collections.split('\n')).toEqual(graph.collections);
  });

  it('builds the simulated body, keeping the settings the form does not show', () => {
    const values = { ...sourceFormValues(simulated), policies: ' 60 ' };
    expect(sourceBody(values, simulated)).toEqual({ ok: true, body: { kind: 'simulated', simulated: { policies: 60, revision: 2, failItems: ['x'] } } });
    expect(sourceBody({ ...values, policies: '', revision: '' }, null)).toEqual({ ok: true, body: { kind: 'simulated', simulated: {} } });
    expect(sourceBody({ ...values, revision: '1.5' }, simulated)).toEqual({ ok: false, errors: { revision: 'Enter a whole number.' } });
  });

  it('builds the graph body: a credential kept (omitted), removed (null) or given', () => {
    const values = sourceFormValues(graph);
    expect(sourceBody(values, graph)).toEqual({ ok: true, body: { kind: 'graph', baseUrl: graph.baseUrl, collections: graph.collections } });
    expect(sourceBody({ ...values, credential: 'none' }, graph)).toMatchObject({ ok: true, body: { credential: null } });
    expect(sourceBody({ ...values, credential: 'bearer', token: 's3cret' }, graph)).toMatchObject({ ok: true, body: { credential: { type: 'bearer', token: 's3cret' } } });
    expect(sourceBody({ ...values, credential: 'bearer' }, graph)).toEqual({ ok: false, errors: { token: 'Enter the token.' } });
    const client = sourceBody({ ...values, credential: 'client_credentials', tokenUrl: 'https://login.example/token', clientId: 'id', clientSecret: 's' }, graph);
    expect(client).toMatchObject({ ok: true, body: { credential: { type: 'client_credentials', tokenUrl: 'https://login.example/token', clientId: 'id', clientSecret: 's' } } });
    expect(sourceBody({ ...values, baseUrl: ' ', collections: '\n' }, graph)).toMatchObject({ ok: false, errors: { baseUrl: expect.any(String), collections: expect.any(String) } });
  });

  it('places the server’s 400 details at their fields', () => {
    const placed = placeSourceErrors([
      { path: 'simulated.policies', message: 'Too big: expected number to be <=20000' },
      { path: 'collections.1', message: 'must not have empty, "." or ".." segments' },
      { path: 'credential.token', message: 'must be visible ASCII characters' },
      { path: 'kind', message: 'Invalid input' },
    ]);
    expect(placed.fields).toEqual({
      policies: 'Too big: expected number to be <=20000.',
      collections: 'Line 2 must not have empty, "." or ".." segments.',
      token: 'Must be visible ASCII characters.',
    });
    expect(placed.general).toEqual(['kind: Invalid input.']);
  });
});

describe('permissions', () => {
  it('disables starts with the role they need, and says nothing while the catalog loads', () => {
    expect(mayStart({ canStart: true, minRole: 'operator' })).toEqual({ ok: true });
    expect(mayStart({ canStart: false, minRole: 'operator' })).toEqual({ ok: false, reason: 'Needs the operator role or higher' });
    expect(mayStart(undefined)).toEqual({ ok: false, reason: null });
    expect(mayStart(undefined, true).ok).toBe(false);
    expect(mayConfigureSource('owner')).toEqual({ ok: true });
    expect(mayConfigureSource('manager')).toEqual({ ok: false, reason: 'Needs the owner role' });
    expect(both({ ok: true }, { ok: false, reason: 'b' })).toEqual({ ok: false, reason: 'b' });
    expect(both({ ok: false, reason: 'a' }, { ok: false, reason: 'b' })).toEqual({ ok: false, reason: 'a' });
  });
});

describe('appendPage', () => {
  it('appends a keyset page without the rows the list already holds, in page order', () => {
    const key = (row: { id: string }) => row.id;
    expect(appendPage([{ id: 'a' }, { id: 'b' }], [{ id: 'b' }, { id: 'c' }, { id: 'd' }], key)).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }]);
    expect(appendPage([], [{ id: 'x' }], key)).toEqual([{ id: 'x' }]);
  });
});
