// The run detail's pure parts: the timeline (history merged by version, long stretches of progress grouped,
// every entry in words, what is announced), "Run again" (who is offered it, and the run's scope mapped onto
// the start form) and the baseline figures and ETA in words.
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../db/catalog/catalog.ts';
import { scopeSchemaOf } from '../../db/catalog/types.ts';
import type { RunHistoryEntry } from '../../server/http/contract.ts';
import { runAgainMode } from '../../dashboard/src/lib/run-again.ts';
import { baselineFacts, etaBasis, etaLabel, failureRateText, roughDuration } from '../../dashboard/src/lib/run-insight.ts';
import {
  ANNOUNCE_PROGRESS_EVERY_MS,
  announcementOf,
  authorPhrase,
  COLLAPSE_AFTER,
  completedCounts,
  entrySentence,
  entryTone,
  entryWhat,
  gapText,
  groupText,
  groupTimeline,
  mergeHistory,
  progressText,
  shouldAnnounce,
  type TimelineItem,
} from '../../dashboard/src/lib/run-timeline.ts';
import { fieldsOf, formFor, initialValues, placeErrors, prefillValues, toScope, type FormSource } from '../../dashboard/src/lib/start-forms.ts';

const T0 = Date.parse('2026-12-03T10:00:00Z');
const counts = (processed: number, total = 500, failed = 0, skipped = 0) => ({ total, processed, succeeded: processed - failed - skipped, failed, skipped });
const worker = { kind: 'worker', name: 'node-1 (pid 42)' } as const;

function entry(version: number, kind: RunHistoryEntry['kind'], atMs: number, extra: Partial<RunHistoryEntry> = {}): RunHistoryEntry {
  return {
    version,
    kind,
    status: kind === 'queued' ? 'queued' : kind === 'completed' ? 'completed' : 'running',
    counts: counts(0),
    at: new Date(T0 + atMs).toISOString(),
    by: worker,
    ...extra,
  };
}

/** queued, started, `progress` progress points 5 s apart, completed. */
function history(progress: number): RunHistoryEntry[] {
  const entries = [entry(1, 'queued', 0, { by: { kind: 'user', name: 'Alice' } }), entry(2, 'started', 200)];
  for (let i = 0; i < progress; i++) entries.push(entry(3 + i, 'progress', 5_000 * (i + 1), { counts: counts(10 * (i + 1)) }));
  entries.push(entry(3 + progress, 'completed', 5_000 * (progress + 1), { counts: counts(500, 500, 3) }));
  return entries;
}

const shape = (items: TimelineItem[]) => items.map((i) => (i.kind === 'entry' ? i.entry.version : `group:${i.key}:${i.hidden.length}:${i.expanded ? 'open' : 'closed'}`));

describe('timeline: merging the history', () => {
  it('appends a live entry, ignores one already shown, and keeps versions sorted and unique', () => {
    const base = history(2);
    const next = entry(6, 'progress', 40_000);
    const grown = mergeHistory(base, [next]);
    expect(grown.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6]);
    // A repeated push, or one older than the last shown, changes nothing: the same array comes back.
    expect(mergeHistory(grown, [next])).toBe(grown);
    expect(mergeHistory(grown, [base[1]!])).toBe(grown);
  });

  it('merges a re-read with entries pushed while it was under way, whatever their order', () => {
    const read = history(3); // versions 1…6
    const pushedMeanwhile = [entry(8, 'progress', 60_000), entry(7, 'progress', 55_000)];
    const live = mergeHistory([], pushedMeanwhile);
    expect(live.map((e) => e.version)).toEqual([7, 8]);
    const merged = mergeHistory(live, read);
    expect(merged.map((e) => e.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(mergeHistory(merged, [...read, ...read])).toBe(merged);
  });
});

describe('timeline: grouping progress points', () => {
  it('shows short stretches of progress whole', () => {
    const items = groupTimeline(history(COLLAPSE_AFTER));
    expect(items.every((i) => i.kind === 'entry')).toBe(true);
    expect(items).toHaveLength(COLLAPSE_AFTER + 3);
  });

  it('collapses a long stretch to its first and last point around "… N progress updates"', () => {
    const entries = history(40); // progress versions 3…42, completed 43
    const items = groupTimeline(entries);
    expect(shape(items)).toEqual([1, 2, 3, 'group:3:38:closed', 42, 43]);
    const group = items[3]!;
    expect(group.kind === 'group' && groupText(group)).toBe('38 more progress updates · 20 → 390 processed over 3 min 05 s');
  });

  it('expands a stretch by its key, the control staying in place before the points it shows', () => {
    const entries = history(40);
    const items = groupTimeline(entries, new Set([3]));
    expect(shape(items)).toEqual([1, 2, 3, 'group:3:38:open', ...Array.from({ length: 38 }, (_, i) => 4 + i), 42, 43]);
    const group = items[3]!;
    expect(group.kind === 'group' && groupText(group)).toBe('Hide 38 progress updates');
  });

  it('keeps the key of a stretch while it grows live, so an expanded stretch stays expanded', () => {
    const running = history(40).slice(0, -1); // still running: no completion yet
    const grown = mergeHistory(running, [entry(43, 'progress', 5_000 * 41, { counts: counts(410) })]);
    expect(shape(groupTimeline(grown))).toEqual([1, 2, 3, 'group:3:39:closed', 43]);
    expect(shape(groupTimeline(grown, new Set([3]))).at(3)).toBe('group:3:39:open');
  });

  it('groups each stretch on its own, and measures every gap from the change just before', () => {
    const entries: RunHistoryEntry[] = [entry(1, 'queued', 0), entry(2, 'started', 1_500)];
    for (let v = 3; v <= 10; v++) entries.push(entry(v, 'progress', 5_000 * v));
    // A mirrored run's restart-like event between two stretches would split them; a completion ends them.
    entries.push(entry(11, 'completed', 5_000 * 10 + 250));
    const items = groupTimeline(entries, new Set(), 3);
    expect(shape(items)).toEqual([1, 2, 3, 'group:3:6:closed', 10, 11]);
    const gaps = items.flatMap((i) => (i.kind === 'entry' ? [i.gapMs] : []));
    expect(gaps).toEqual([null, 1_500, 13_500, 5_000, 250]);
    expect(gapText(1_500)).toBe('+1.5 s');
    expect(gapText(185_000)).toBe('+3 min 05 s');
  });

  it('has nothing to show for an empty history', () => {
    expect(groupTimeline([])).toEqual([]);
  });
});

describe('timeline: entries in words', () => {
  it('says what happened', () => {
    expect(entryWhat(entry(1, 'queued', 0))).toBe('Queued');
    expect(entryWhat(entry(2, 'started', 0))).toBe('Started');
    expect(progressText(counts(120, 500, 3))).toBe('Progress 120 / 500 — 3 failed');
    expect(progressText(counts(120, 500))).toBe('Progress 120 / 500');
    expect(progressText(counts(1_200, 0, 2, 5))).toBe('Progress 1,200 processed — 2 failed, 5 skipped');
  });

  it('names a completion by the run’s outcome, or by its counts before the run says it', () => {
    const completed = entry(9, 'completed', 0, { counts: counts(6, 6, 3) });
    expect(entryWhat(completed, 'partially_succeeded')).toBe('Completed: partially succeeded');
    // An abort fails a run whatever its counts: the run's outcome is the one that counts.
    expect(entryWhat(entry(9, 'completed', 0, { counts: counts(0, 4) }), 'failed')).toBe('Completed: failed');
    expect(entryWhat(completed, 'pending')).toBe('Completed: partially succeeded');
    expect(entryWhat(entry(9, 'completed', 0, { counts: counts(4, 4) }))).toBe('Completed: succeeded');
    expect(entryTone(completed, 'partially_succeeded')).toBe('partially_succeeded');
    expect(entryTone(completed, 'failed')).toBe('failed');
    expect(entryTone(entry(1, 'queued', 0))).toBe('queued');
    expect(entryTone(entry(2, 'started', 0))).toBe('running');
    expect(entryTone(entry(3, 'progress', 0))).toBe('progress');
    expect(completedCounts(counts(6, 6, 3))).toBe('3 succeeded, 3 failed of 6 items');
    expect(completedCounts({ total: 1, processed: 1, succeeded: 0, failed: 0, skipped: 1 })).toBe('0 succeeded, 0 failed, 1 skipped of 1 item');
  });

  it('says who, with its kind', () => {
    expect(authorPhrase({ kind: 'user', name: 'Alice' })).toBe('Alice');
    expect(authorPhrase(worker)).toBe('worker node-1 (pid 42)');
    expect(authorPhrase({ kind: 'integration', name: 'CI pipeline' })).toBe('integration CI pipeline');
    expect(authorPhrase({ kind: 'system', name: 'lost-worker sweep' })).toBe('system job lost-worker sweep');
    expect(authorPhrase({ kind: 'user', name: '  ' })).toBe('an unnamed user');
  });

  it('makes one sentence of an entry', () => {
    expect(entrySentence(entry(1, 'queued', 0, { by: { kind: 'user', name: 'Alice' } }))).toBe('Queued by Alice');
    expect(entrySentence(entry(2, 'started', 0))).toBe('Started by worker node-1 (pid 42)');
    expect(entrySentence(entry(3, 'progress', 0, { counts: counts(120, 500, 3) }))).toBe('Progress 120 / 500 — 3 failed, by worker node-1 (pid 42)');
    expect(entrySentence(entry(4, 'completed', 0, { by: { kind: 'system', name: 'lost-worker sweep' } }), 'failed')).toBe(
      'Completed: failed, by system job lost-worker sweep',
    );
  });

  it('announces every change but progress, and progress at most every half minute', () => {
    expect(shouldAnnounce({ kind: 'started' }, T0, T0)).toBe(true);
    expect(shouldAnnounce({ kind: 'completed' }, T0, T0 + 1)).toBe(true);
    expect(shouldAnnounce({ kind: 'progress' }, null, T0)).toBe(true);
    expect(shouldAnnounce({ kind: 'progress' }, T0, T0 + ANNOUNCE_PROGRESS_EVERY_MS - 1)).toBe(false);
    expect(shouldAnnounce({ kind: 'progress' }, T0, T0 + ANNOUNCE_PROGRESS_EVERY_MS)).toBe(true);
    expect(announcementOf(entry(2, 'started', 0))).toBe('Timeline: Started by worker node-1 (pid 42).');
  });
});

describe('run again', () => {
  const type = { canStart: true, owned: false, mirrored: false } as const;
  const done = { status: 'completed' } as const;

  it('opens the start dialog for a completed run of a type the member may start', () => {
    expect(runAgainMode(done, type, 'operator')).toEqual({ kind: 'dialog' });
    expect(runAgainMode(done, type, 'owner')).toEqual({ kind: 'dialog' });
  });

  it('links to the feature page of a type that has one', () => {
    const surface = { label: 'Inventory', url: '/t/acme/inventory' };
    expect(runAgainMode(done, { ...type, startSurface: surface }, 'manager')).toEqual({ kind: 'surface', ...surface });
  });

  it('offers nothing for active runs, read-only members, kiosks, roles that may not start it, owned and mirrored types', () => {
    expect(runAgainMode({ status: 'running' }, type, 'owner')).toEqual({ kind: 'none' });
    expect(runAgainMode({ status: 'queued' }, type, 'owner')).toEqual({ kind: 'none' });
    expect(runAgainMode(done, type, 'readonly')).toEqual({ kind: 'none' });
    expect(runAgainMode(done, type, null)).toEqual({ kind: 'none' });
    expect(runAgainMode(done, undefined, 'owner')).toEqual({ kind: 'none' });
    expect(runAgainMode(done, { ...type, canStart: false }, 'operator')).toEqual({ kind: 'none' });
    const surface = { label: 'Backups', url: '/t/acme/backups' };
    expect(runAgainMode(done, { ...type, owned: true, startSurface: surface }, 'owner')).toEqual({ kind: 'none' });
    expect(runAgainMode(done, { ...type, mirrored: true }, 'owner')).toEqual({ kind: 'none' });
  });
});

describe('run again: the run’s scope on the start form', () => {
  const catalog = Catalog.forConfig({ demoOperations: true });
  const declaration = catalog.get('demo.batch')!;
  const source: FormSource = { type: 'demo.batch', scopeSchema: scopeSchemaOf(declaration) };
  const form = formFor(source);

  it('fills each field with the run’s value, and sends back the same work', () => {
    const scope = declaration.scope.parse({ items: 30, itemMs: 5, failEvery: 7, failCode: 'quota_exceeded', abort: true, key: 'nightly' }) as Record<string, unknown>;
    const values = prefillValues(form, scope, source.scopeSchema);
    expect(values).toMatchObject({ items: '30', itemMs: '5', failEvery: '7', failCode: 'quota_exceeded', abort: true, key: 'nightly' });
    const sent = toScope(form, values);
    expect(sent.ok).toBe(true);
    // The same validated scope, so the same identity: an identical active run would be joined.
    expect(sent.ok && declaration.scope.parse(sent.scope)).toEqual(scope);
  });

  it('keeps the defaults of fields the scope does not name, and drops what the form has no field for', () => {
    const values = prefillValues(form, { items: 3, unknownKey: 'x', nested: { a: 1 } }, source.scopeSchema);
    expect(values).toEqual({ ...initialValues(form), items: '3' });
    expect(Object.keys(values).sort()).toEqual(fieldsOf(form).map((f) => f.name).sort());
  });

  it('leaves a null field empty, and a checkbox with a value that is not a boolean at its default', () => {
    const values = prefillValues(form, { failEvery: null, abort: 'yes' }, source.scopeSchema);
    expect(values.failEvery).toBe('');
    expect(values.abort).toBe(initialValues(form).abort);
  });

  it('shows a value that no longer fits as it was, and the form’s usual message once the server refuses it', () => {
    const values = prefillValues(form, { items: 500_000, itemMs: 'soon' }, source.scopeSchema);
    expect(values).toMatchObject({ items: '500000', itemMs: 'soon' });
    // Not a number at all: the form's own message, before anything is sent.
    expect(toScope(form, values)).toEqual({ ok: false, errors: { itemMs: 'Enter a number.' } });
    // Out of range: sent as shown, and the server's 400 is placed at the field in the form's words.
    const fixed = toScope(form, { ...values, itemMs: '5' });
    expect(fixed).toMatchObject({ ok: true, scope: { items: 500_000 } });
    const refused = declaration.scope.safeParse(fixed.ok ? fixed.scope : {});
    const details = (refused.error?.issues ?? []).map((i) => ({ path: ['scope', ...i.path].join('.'), message: i.message }));
    expect(placeErrors(form, details).fields).toEqual({ items: 'Enter a whole number from 0 to 100,000.' });
  });

  it('puts the scope in the JSON box of a form that asks for it whole, without keys its schema does not declare', () => {
    const schema = {
      type: 'object',
      properties: { policies: { type: 'array', items: { type: 'string' } }, dryRun: { type: 'boolean' } },
      additionalProperties: false,
    };
    const json = formFor({ type: 'backup_set.add_policies', scopeSchema: schema });
    const values = prefillValues(json, { policies: ['a', 'b'], dryRun: true, stale: 1 }, schema);
    expect(JSON.parse(values.scope as string)).toEqual({ policies: ['a', 'b'], dryRun: true });
    expect(toScope(json, values)).toEqual({ ok: true, scope: { policies: ['a', 'b'], dryRun: true } });
    // A schema that allows other keys keeps them all.
    const open = { ...schema, additionalProperties: true };
    expect(JSON.parse(prefillValues(formFor({ type: 'x.y', scopeSchema: open }), { stale: 1 }, open).scope as string)).toEqual({ stale: 1 });
  });
});

describe('baseline figures and ETA in words', () => {
  it('rounds the time left', () => {
    expect(etaLabel(120_000)).toBe('≈ 2 min left');
    expect(etaLabel(150_000)).toBe('≈ 3 min left');
    expect(etaLabel(42_000)).toBe('≈ 40 s left');
    expect(etaLabel(7_400)).toBe('≈ 7 s left');
    expect(etaLabel(400)).toBe('finishing…');
    expect(roughDuration(80 * 60_000)).toBe('1 h 20 min');
    expect(roughDuration(2 * 3_600_000)).toBe('2 h');
    expect(roughDuration(51 * 3_600_000)).toBe('2 d 3 h');
    expect(etaBasis({ counts: { total: 10, processed: 2 } })).toMatch(/own rate/);
    expect(etaBasis({ counts: { total: 0, processed: 0 } })).toMatch(/usual duration/);
  });

  it('lists a type’s figures over 30 days, and none without runs', () => {
    expect(baselineFacts({ runs30d: 120, failureRate30d: 0.0421, p50DurationMs: 80_000, p95DurationMs: 185_000 })).toEqual([
      { label: 'Usual duration (p50)', value: '1 min 20 s' },
      { label: 'Slower than usual after (p95)', value: '3 min 05 s' },
      { label: 'Failure rate (30 days)', value: '4.2%' },
      { label: 'Runs (30 days)', value: '120' },
    ]);
    expect(baselineFacts({ runs30d: 3, failureRate30d: 0, p50DurationMs: null, p95DurationMs: null }).map((f) => f.value)).toEqual(['—', '—', '0%', '3']);
    expect(baselineFacts({ runs30d: 0, failureRate30d: null, p50DurationMs: null, p95DurationMs: null })).toEqual([]);
    expect(baselineFacts(undefined)).toEqual([]);
    expect(failureRateText(0.5)).toBe('50%');
    expect(failureRateText(1)).toBe('100%');
    expect(failureRateText(0.001)).toBe('0.1%');
    expect(failureRateText(null)).toBe('—');
  });
});
