// The Webhooks page's pure helpers (dashboard/src/lib/webhooks.ts, navigation.ts, permissions.ts): the form's
// POST body, the server's 400 details at their fields, a webhook's health and a delivery's status in words, and
// who sees the page in the navigation. Bodies are checked against the server's own schema. (The words are keyed
// by the server's unions, so the type check keeps events, outcomes and formats complete.)
import { describe, expect, it } from 'vitest';
import { tenantLinks } from '../../dashboard/src/lib/navigation.ts';
import { mayManageWebhooks } from '../../dashboard/src/lib/permissions.ts';
import { refused } from '../../dashboard/src/lib/server-form.ts';
import {
  deliveryChip,
  durationText,
  emptyWebhookForm,
  EVENTS,
  healthChip,
  nextAttemptAt,
  nextAttemptText,
  outcomesText,
  placeWebhookErrors,
  shortUrl,
  toggled,
  typesText,
  webhookBody,
  type WebhookFormValues,
} from '../../dashboard/src/lib/webhooks.ts';
import { webhookBody as serverSchema } from '../../server/http/contract.ts';

const NOW = Date.parse('2026-12-04T10:00:00Z');
const form = (values: Partial<WebhookFormValues>): WebhookFormValues => ({ ...emptyWebhookForm(), ...values });
const at = (offsetMs: number) => new Date(NOW + offsetMs).toISOString();

describe('the New webhook form', () => {
  it('sends the URL trimmed and leaves empty types and outcomes out (they mean all)', () => {
    const result = webhookBody(form({ url: '  https://hooks.example.com/runboard  ' }));
    expect(result).toEqual({ ok: true, body: { url: 'https://hooks.example.com/runboard', events: ['run.completed'], format: 'json' } });
    expect(serverSchema.safeParse(result.ok && result.body).success).toBe(true);
  });

  it('sends events and outcomes in one order however they were clicked, types without repeats', () => {
    const result = webhookBody(
      form({
        url: 'https://hooks.slack.com/services/T0/B0/x',
        events: ['run.queued', 'run.completed'],
        outcomes: ['failed', 'succeeded'],
        types: ['inventory.sync', 'demo.batch', 'inventory.sync'],
        format: 'slack',
      }),
    );
    expect(result).toEqual({
      ok: true,
      body: {
        url: 'https://hooks.slack.com/services/T0/B0/x',
        events: ['run.completed', 'run.queued'],
        types: ['inventory.sync', 'demo.batch'],
        outcomes: ['succeeded', 'failed'],
        format: 'slack',
      },
    });
    expect(serverSchema.safeParse(result.ok && result.body).success).toBe(true);
  });

  it('drops outcomes once run.completed is unchecked, as the server would refuse them', () => {
    const result = webhookBody(form({ url: 'https://x.example/h', events: ['run.queued'], outcomes: ['failed'] }));
    expect(result.ok && result.body).toEqual({ url: 'https://x.example/h', events: ['run.queued'], format: 'json' });
    expect(serverSchema.safeParse(result.ok && result.body).success).toBe(true);
  });

  it('says at its field what is missing, and leaves the rest to the server', () => {
    expect(webhookBody(form({ url: ' ', events: [] }))).toEqual({
      ok: false,
      errors: { url: expect.stringMatching(/^Enter the URL/), events: 'Choose at least one event.' },
    });
    // Only emptiness is judged here: a URL the server will refuse still goes to it.
    expect(webhookBody(form({ url: 'ftp://example.com/x' })).ok).toBe(true);
  });

  it('toggles a choice in the given order', () => {
    expect(toggled(['run.queued'], 'run.completed', EVENTS)).toEqual(['run.completed', 'run.queued']);
    expect(toggled(['run.completed', 'run.queued'], 'run.completed', EVENTS)).toEqual(['run.queued']);
    expect(toggled(['b.x'], 'a.x', [])).toEqual(['b.x', 'a.x']);
  });

  it('places 400 details at their fields (types.N and events.N at their group), the rest as general', () => {
    const placed = placeWebhookErrors([
      { path: 'url', message: 'must be an http:// or https:// URL' },
      { path: 'types.0', message: 'nope.never is not an operation type of this install' },
      { path: 'types.2', message: 'also.never is not an operation type of this install' },
      { path: 'events.0', message: 'Invalid option: expected one of "run.completed"|"run.queued"' },
      { path: 'outcomes', message: 'outcomes narrow run.completed: add it to events' },
      { path: 'body.format', message: 'Invalid option' },
      { path: '', message: 'Unrecognized key: "secret"' },
    ]);
    expect(placed.fields).toEqual({
      url: 'Must be an http:// or https:// URL.',
      types: 'Nope.never is not an operation type of this install. Also.never is not an operation type of this install.',
      events: 'Invalid option: expected one of "run.completed"|"run.queued".',
      outcomes: 'Outcomes narrow run.completed: add it to events.',
      format: 'Invalid option.',
    });
    expect(placed.general).toEqual(['Unrecognized key: "secret".']);
    expect(placeWebhookErrors([{ path: 'types.0', message: 'x' }, { path: 'types.1', message: 'x' }]).fields).toEqual({ types: 'X.' });
  });

  it('turns a refused create into what the form shows: 400 at the fields, 409 in the server\'s words', () => {
    // As api.ts's ApiError carries them: status, code, message and the whole body.
    const apiError = (status: number, code: string, message: string, body: unknown = null) => Object.assign(new Error(message), { status, code, body });
    const otherwise = (error: unknown) => (error as Error).message;
    const bad = apiError(400, 'validation_failed', 'The webhook URL is not allowed: must be an http:// or https:// URL.', {
      error: { code: 'validation_failed', message: '…', details: [{ path: 'url', message: 'must be an http:// or https:// URL' }] },
    });
    expect(refused(bad, placeWebhookErrors, otherwise)).toEqual({ ok: false, fields: { url: 'Must be an http:// or https:// URL.' }, message: null });
    // A 400 with nothing to place says its message.
    expect(refused(apiError(400, 'validation_failed', 'The request is not valid.'), placeWebhookErrors, otherwise)).toEqual({
      ok: false,
      fields: {},
      message: 'The request is not valid.',
    });
    const limit = apiError(409, 'limit_reached', 'A tenant has at most 20 webhooks; delete one first.');
    expect(refused(limit, placeWebhookErrors, otherwise)).toEqual({ ok: false, fields: {}, message: 'A tenant has at most 20 webhooks; delete one first.' });
  });
});

describe('the webhook list in words', () => {
  it('shortens long URLs in the middle, keeping the host and the end', () => {
    const long = `https://hooks.example.com/${'a'.repeat(80)}/tail-42`;
    const short = shortUrl(long, 40);
    expect(short).toHaveLength(40);
    expect(short.startsWith('https://hooks.example.com')).toBe(true);
    expect(short.endsWith('/tail-42')).toBe(true);
    expect(short).toContain('…');
    expect(shortUrl('https://x.example/h', 40)).toBe('https://x.example/h');
  });

  it('says all types and all outcomes when none are chosen, and no outcomes without run.completed', () => {
    const labels: Record<string, string> = { 'inventory.sync': 'Inventory sync' };
    expect(typesText([], (t) => labels[t])).toBe('All types');
    expect(typesText(['inventory.sync', 'gone.type'], (t) => labels[t])).toBe('Inventory sync, gone.type');
    expect(outcomesText({ events: ['run.completed'], outcomes: [] })).toBe('All outcomes');
    expect(outcomesText({ events: ['run.completed', 'run.queued'], outcomes: ['partially_succeeded', 'failed'] })).toBe('Partially succeeded, Failed');
    expect(outcomesText({ events: ['run.queued'], outcomes: [] })).toBe('—');
  });

  it('words health: healthy with its last delivery, failing with failures in a row and the pause, nothing sent yet', () => {
    expect(healthChip({ state: 'healthy', consecutiveFailures: 0, pausedUntil: null, lastDeliveryAt: at(-120_000) }, NOW)).toEqual({
      tone: 'succeeded',
      label: 'Healthy',
      detail: 'Last delivery 2 min ago',
    });
    const paused = healthChip({ state: 'failing', consecutiveFailures: 3, pausedUntil: at(40_000), lastDeliveryAt: at(-1_000) }, NOW);
    expect(paused.tone).toBe('failed');
    expect(paused.label).toBe('Failing');
    expect(paused.detail).toMatch(/^3 failures in a row · paused until .+ \(in 40 s\)$/);
    expect(healthChip({ state: 'failing', consecutiveFailures: 1, pausedUntil: at(-1_000), lastDeliveryAt: at(-60_000) }, NOW).detail).toBe(
      '1 failure in a row · trying again',
    );
    expect(healthChip({ state: 'unknown', consecutiveFailures: 0, pausedUntil: null, lastDeliveryAt: null }, NOW)).toEqual({
      tone: 'queued',
      label: 'No deliveries yet',
      detail: null,
    });
  });
});

describe('the delivery log in words', () => {
  it('has a chip for every status, a pending retry told apart from a first try', () => {
    expect(deliveryChip({ status: 'pending', attempts: 0 })).toEqual({ tone: 'queued', label: 'Pending' });
    expect(deliveryChip({ status: 'pending', attempts: 2 })).toEqual({ tone: 'partially_succeeded', label: 'Pending retry' });
    expect(deliveryChip({ status: 'delivering', attempts: 1 })).toEqual({ tone: 'running', label: 'Delivering' });
    expect(deliveryChip({ status: 'succeeded', attempts: 1 })).toEqual({ tone: 'succeeded', label: 'Succeeded' });
    expect(deliveryChip({ status: 'failed', attempts: 9 })).toEqual({ tone: 'failed', label: 'Failed' });
  });

  it('says when a pending delivery is tried next, and nothing for the others', () => {
    const due = (nextAttemptAtIso: string | null, pausedUntil: string | null = null, status: 'pending' | 'succeeded' = 'pending') =>
      nextAttemptText(nextAttemptAt({ status, nextAttemptAt: nextAttemptAtIso }, pausedUntil), NOW);
    expect(due(at(20_000))).toBe('in 20 s');
    expect(due(at(-3_000))).toBe('due now');
    expect(due(null, null, 'succeeded')).toBe('—');
    // A failing webhook's deliveries wait for its pause, even those due by their own time.
    expect(due(at(-3_000), at(30_000))).toBe('in 30 s');
    expect(due(at(90_000), at(30_000))).toBe('in 1 min');
    expect(nextAttemptAt({ status: 'pending', nextAttemptAt: at(-3_000) }, at(30_000))).toBe(at(30_000));
    expect(durationText({ durationMs: 42 })).toBe('42 ms');
    expect(durationText({ durationMs: null })).toBe('—');
  });
});

describe('who sees Webhooks', () => {
  it('only owners have it in the navigation and may manage webhooks', () => {
    expect(tenantLinks('owner').map((l) => l.path)).toContain('webhooks');
    for (const role of ['manager', 'operator', 'readonly', null] as const) {
      expect(tenantLinks(role).map((l) => l.path)).not.toContain('webhooks');
      expect(tenantLinks(role).map((l) => l.path)).toContain('operations');
      expect(mayManageWebhooks(role)).toEqual({ ok: false, reason: 'Needs the owner role' });
    }
    expect(mayManageWebhooks('owner')).toEqual({ ok: true });
  });
});
