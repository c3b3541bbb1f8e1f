import { z } from 'zod';
import { safeString } from '../validation.ts';
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

const tenantPath = (tenant: string) => `/t/${encodeURIComponent(tenant)}`;
const backupSetLabel = (scope: object): string =>
  'backupSetName' in scope && typeof scope.backupSetName === 'string' ? `Backup set ${scope.backupSetName}` : 'Backup set';
/** 1–500 policy ids (external ids of the source); order and repeats are irrelevant, so they are sorted and unique. */
export const policyIdList = z
  .array(safeString().min(1).max(200))
  .min(1)
  .max(500)
  .transform((ids) => [...new Set(ids)].sort());

/** Reads every policy from the tenant's policy source into a snapshot owned by the run (docs/api.md §10). */
export const inventorySync = declareOperation({
  type: 'inventory.sync',
  label: 'Inventory sync',
  description: "Reads every policy from the tenant's policy source into a new inventory snapshot.",
  minRole: 'operator',
  scope: z.strictObject({}),
  identity: [],
  related: (_scope, { tenant }) => [{ label: 'Inventory', url: `${tenantPath(tenant)}/inventory` }],
  startSurface: { label: 'Inventory', path: (tenant) => `${tenantPath(tenant)}/inventory` },
});

/**
 * Compares two successful inventory snapshots. Without run ids the starter picks the tenant's two latest
 * successful syncs and records them in the scope; with fewer than two it refuses (409 insufficient_inventory).
 */
export const driftGenerate = declareOperation({
  type: 'drift.generate',
  label: 'Drift generation',
  description: 'Compares two inventory snapshots and records every policy added, removed or modified.',
  minRole: 'operator',
  scope: z.strictObject({
    baselineRunId: z.uuid().optional().meta({ title: 'Baseline sync run', description: 'Optional. Empty: the second latest successful sync.' }),
    currentRunId: z.uuid().optional().meta({ title: 'Current sync run', description: 'Optional. Empty: the latest successful sync.' }),
  }),
  identity: ['baselineRunId', 'currentRunId'],
  related: (_scope, { tenant, runId }) => [{ label: 'Drift findings', url: `${tenantPath(tenant)}/drift?run=${runId}` }],
  startSurface: { label: 'Drift', path: (tenant) => `${tenantPath(tenant)}/drift` },
});

/** Captures policies' current settings from the source into a backup set; unchanged ones are skipped. */
export const backupAddPolicies = declareOperation({
  type: 'backup_set.add_policies',
  label: 'Back up policies',
  description: "Captures the chosen policies' current settings from the policy source into a backup set.",
  minRole: 'operator',
  scope: z.strictObject({
    backupSetId: z.uuid().meta({ title: 'Backup set' }),
    // Order is irrelevant to what the run does, so it is irrelevant to its identity too.
    policyIds: policyIdList.meta({ title: 'Policies', description: '1 to 500 policy ids from the inventory.' }),
  }),
  identity: ['backupSetId', 'policyIds'],
  // The starter records the set's name in the scope (beside the identity), so the link reads as the set.
  related: (scope, { tenant }) => [
    { label: backupSetLabel(scope), url: `${tenantPath(tenant)}/backups/${scope.backupSetId}` },
  ],
  startSurface: { label: 'Backups', path: (tenant) => `${tenantPath(tenant)}/backups` },
});

/**
 * The canonical run of a restore (docs/api.md §10): created when the restore is previewed, driven by the
 * restore itself through the same lifecycle calls as every mirrored run. Never started through the runs API.
 */
export const restoreExecute = declareOperation({
  type: 'restore.execute',
  label: 'Restore',
  description: "Writes a backup set's captured settings back to the policy source.",
  minRole: 'manager',
  scope: z.strictObject({ restoreId: z.uuid(), backupSetId: z.uuid(), backupSetName: z.string().max(200) }),
  identity: ['restoreId'],
  related: (scope, { tenant }) => [
    { label: 'Restore', url: `${tenantPath(tenant)}/restores/${scope.restoreId}` },
    { label: backupSetLabel(scope), url: `${tenantPath(tenant)}/backups/${scope.backupSetId}` },
  ],
  mirrored: true,
  ownedBy: 'restores',
  startSurface: { label: 'Backups', path: (tenant) => `${tenantPath(tenant)}/backups` },
});
