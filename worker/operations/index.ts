import type { Services } from '../../db/services.ts';
import type { OperationHandler } from '../runner.ts';
import { backupAddPolicies } from './backup-add-policies.ts';
import { demoBatch } from './demo-batch.ts';
import { driftGenerate } from './drift-generate.ts';
import { inventorySync } from './inventory-sync.ts';
import { restoreExecute } from './restore-execute.ts';
import { runsPurge } from './runs-purge.ts';

/**
 * Handlers by operation type, each given only the services it needs; every non-mirrored type in the catalog
 * has one here (a test checks).
 */
export function handlersFor(
  services: Pick<Services, 'retention' | 'config' | 'sources' | 'inventory' | 'drift' | 'backups'>,
): ReadonlyMap<string, OperationHandler> {
  return new Map<string, OperationHandler>([
    ['demo.batch', demoBatch as OperationHandler],
    ['runs.purge', runsPurge({ retention: services.retention, retentionDays: services.config.retentionDays }) as OperationHandler],
    ['inventory.sync', inventorySync({ sources: services.sources, inventory: services.inventory }) as OperationHandler],
    ['drift.generate', driftGenerate({ inventory: services.inventory, drift: services.drift }) as OperationHandler],
    ['backup_set.add_policies', backupAddPolicies({ sources: services.sources, backups: services.backups }) as OperationHandler],
  ]);
}

/**
 * Work for mirrored types that Runboard's own workers carry out on behalf of the record that owns the run (a
 * restore applying its items): the driver reports through the same lifecycle calls as any mirroring system.
 * Enqueued by that module (never by the starter, which enqueues nothing for mirrored types).
 */
export type MirroredDriver = (runId: string, signal: AbortSignal) => Promise<void>;

export function driversFor(
  services: Pick<Services, 'config' | 'logger' | 'lifecycle' | 'sources' | 'restores'>,
): ReadonlyMap<string, MirroredDriver> {
  return new Map<string, MirroredDriver>([
    [
      'restore.execute',
      restoreExecute({
        restores: services.restores,
        lifecycle: services.lifecycle,
        sources: services.sources,
        stallTimeoutMs: services.config.stallTimeoutMs,
        logger: services.logger,
      }),
    ],
  ]);
}
