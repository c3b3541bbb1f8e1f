import { z } from 'zod';
import { declareOperation } from './types.ts';

/** Test and demo work whose outcome the caller controls (CONTRACT §7). */
export const demoBatch = declareOperation({
  type: 'demo.batch',
  label: 'Demo batch',
  description: 'Processes a batch of synthetic items; failures and aborts on request.',
  minRole: 'operator',
  scope: z
    .strictObject({
      items: z.number().int().min(0).max(100_000).default(10),
      itemMs: z.number().int().min(0).max(60_000).default(50),
      failEvery: z.number().int().min(1).max(100_000).optional(),
      failCode: z
        .string()
        .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be snake_case')
        .default('item_failed'),
      failMessage: z.string().max(2000).optional(),
      abort: z.boolean().optional(),
      key: z.string().max(200).optional(),
    }),
  identity: 'all',
  related: () => [],
});

/** A mirrored run for trying and testing external reporting (CONTRACT §7, §9): nothing is enqueued. */
export const demoExternal = declareOperation({
  type: 'demo.external',
  label: 'Demo external workflow',
  description: 'Work that runs elsewhere and reports its life through the events API.',
  minRole: 'operator',
  scope: z.strictObject({ key: z.string().max(200).optional() }),
  identity: 'all',
  related: () => [],
  external: true,
});

/** The retention purge (CONTRACT §1): scheduled daily with no initiator, or started on demand by an owner. */
export const runsPurge = declareOperation({
  type: 'runs.purge',
  label: 'Purge old runs',
  description: 'Deletes runs (and their notifications) older than the retention window, in batches.',
  minRole: 'owner',
  scope: z.strictObject({
    olderThanDays: z.number().int().min(1).max(3650).optional(),
  }),
  identity: [],
  related: () => [],
});
