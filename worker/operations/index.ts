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
