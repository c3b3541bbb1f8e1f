import type { OperationHandler } from '../runner.ts';
import { demoBatch } from './demo-batch.ts';
import { runsPurge } from './runs-purge.ts';

/** Handlers by operation type; every non-external type in the catalog has one here (a test checks). */
export const handlers: ReadonlyMap<string, OperationHandler> = new Map<string, OperationHandler>([
  ['demo.batch', demoBatch as OperationHandler],
  ['runs.purge', runsPurge as OperationHandler],
]);
