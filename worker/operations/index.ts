import type { Services } from '../../db/services.ts';
import type { OperationHandler } from '../runner.ts';
import { demoBatch } from './demo-batch.ts';
import { runsPurge } from './runs-purge.ts';

/**
 * Handlers by operation type, each given only the services it needs; every non-mirrored type in the catalog
 * has one here (a test checks).
 */
export function handlersFor(services: Pick<Services, 'retention' | 'config'>): ReadonlyMap<string, OperationHandler> {
  return new Map<string, OperationHandler>([
    ['demo.batch', demoBatch as OperationHandler],
    ['runs.purge', runsPurge({ retention: services.retention, retentionDays: services.config.retentionDays }) as OperationHandler],
  ]);
}

/**
 * Work for mirrored types that Runboard's own workers carry out on behalf of the record that owns the run (a
 * restore applying its items): the driver reports through the same lifecycle calls as any mirroring system.
 * Enqueued by that module (never by the starter, which enqueues nothing for mirrored types).
 */
export type MirroredDriver = (runId: string, signal: AbortSignal) => Promise<void>;

export function driversFor(_services: Pick<Services, 'config'>): ReadonlyMap<string, MirroredDriver> {
  return new Map<string, MirroredDriver>();
}
