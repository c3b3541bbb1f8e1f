import { z } from 'zod';
import { declareOperation } from './types.ts';

const key = z
  .string()
  .max(200)
  .optional()
  .meta({ title: 'Key', description: 'Optional. An identical scope joins the active run; another key starts a separate one.' });

/** Test and demo work whose outcome the caller controls (docs/api.md §7). */
export const demoBatch = declareOperation({
  type: 'demo.batch',
  label: 'Demo batch',
  description: 'Processes a batch of synthetic items; failures and aborts on request.',
  minRole: 'operator',
  scope: z.strictObject({
    items: z.number().int().min(0).max(100_000).default(10).meta({ title: 'Items', description: '0 to 100,000.' }),
    itemMs: z.number().int().min(0).max(60_000).default(50).meta({ title: 'Time per item (ms)', description: '0 to 60,000 ms.' }),
    failEvery: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .meta({ title: 'Fail every nth item', description: 'Empty: no item fails.', group: 'Simulated failures', placeholder: 'Never' }),
    failCode: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case')
      .default('item_failed')
      .meta({ title: 'Failure code', description: 'snake_case, e.g. item_failed.', group: 'Simulated failures' }),
    failMessage: z
      .string()
      .max(2000)
      .optional()
      .meta({ title: 'Failure message', description: 'Optional. Empty: “Item N failed.”', group: 'Simulated failures', wide: true }),
    abort: z
      .boolean()
      .optional()
      .meta({ title: 'Abort before the first item (the run fails as a whole)', group: 'Simulated failures', wide: true }),
    key: key.meta({ wide: true }),
  }),
  identity: 'all',
  related: () => [],
});

/** A mirrored run for trying and testing reported work (docs/api.md §7, §9): nothing is enqueued. */
export const demoExternal = declareOperation({
  type: 'demo.external',
  label: 'Demo mirrored workflow',
  description: 'Work that runs elsewhere and reports its life through the events API.',
  minRole: 'operator',
  scope: z.strictObject({ key: key.meta({ wide: true }) }),
  identity: 'all',
  related: () => [],
  mirrored: true,
  startNote: {
    tone: 'info',
    text: 'An outside system carries out this work and reports its progress. The run stays queued until it does.',
  },
});

/** The retention purge (docs/api.md §1): scheduled daily with no initiator, or started on demand by an owner. */
export const runsPurge = declareOperation({
  type: 'runs.purge',
  label: 'Purge old runs',
  description: 'Deletes runs (and their notifications) older than the retention window, in batches.',
  minRole: 'owner',
  scope: z.strictObject({
    olderThanDays: z
      .number()
      .int()
      .min(1)
      .max(3650)
      .optional()
      .meta({ title: 'Older than (days)', description: '1 to 3,650. Empty: the configured retention window.', placeholder: 'Retention window' }),
  }),
  identity: [],
  related: () => [],
  startNote: { tone: 'warning', text: 'Deletes runs and their notifications for good. This cannot be undone.' },
});
