import { isDatabaseUnavailable } from '../../db/errors.ts';
import type { Logger } from '../../db/logger.ts';
import type { RestoreService, RestoreWorkItem } from '../../db/restores/service.ts';
import type { RunEvent, RunLifecycle } from '../../db/runs/lifecycle.ts';
import { sanitizeError } from '../../db/sanitize/sanitizer.ts';
import { SourceError, type PolicySourceClient } from '../../db/sources/source.ts';
import type { PolicySources } from './backup-add-policies.ts';
import { WORKER_AUTHOR } from '../runner.ts';
import type { MirroredDriver } from './index.ts';

type Failure = { code: string; message: string };

/** The run could not go on (the source as a whole failed): it ends `failed` with this failure. */
class Aborted extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** An item the source refused is an item failure; any other SourceError means the source as a whole failed. */
const ITEM_CODES = new Set(['source_apply_failed', 'policy_not_found', 'source_item_unreadable', 'policy_too_large']);
const REFUSED_MESSAGE = 'The policy source refused this policy.';

/**
 * Drives a restore's `restore.execute` run (docs/api.md §10) on a worker, reporting through the same events a
 * mirroring system sends (db/runs/lifecycle.ts `applyEvent`), each with an event id so a redelivered job
 * changes nothing twice: the total, one `progress` per item (create/update: applied to the source;
 * unchanged: skipped), then `completed`. An item's result is recorded before its event, and items that have
 * one are never applied again; their events are re-sent (no-ops once applied). The restore takes its end
 * from the run's outcome.
 */
export function restoreExecute(deps: {
  restores: RestoreService;
  lifecycle: RunLifecycle;
  sources: PolicySources;
  stallTimeoutMs: number;
  logger: Logger;
}): MirroredDriver {
  const { restores, lifecycle } = deps;
  const heartbeatMs = Math.max(500, Math.min(deps.stallTimeoutMs / 4, 5_000));

  return async (runId, signal) => {
    // A job redelivered after its worker died, once the run has been silent past the stall timeout, finds the
    // run lost: it is ended as the workers' sweep would end it (worker_lost) rather than resumed.
    await lifecycle.sweepStalled(deps.stallTimeoutMs);
    const work = await restores.workOf(runId);
    if (!work) return;
    const { restoreId } = work;
    /** Applies one event; false when the run no longer takes events (it ended elsewhere, e.g. swept). */
    const report = async (event: RunEvent, eventId: string): Promise<boolean> => {
      const result = await lifecycle.applyEvent(runId, event, WORKER_AUTHOR, `restore:${restoreId}:${eventId}`);
      return result.outcome === 'applied' || result.outcome === 'duplicate';
    };
    const itemEvent = (item: RestoreWorkItem, failure?: Failure): RunEvent => {
      if (item.result === 'applied') return { kind: 'progress', succeeded: 1 };
      if (item.result === 'skipped') return { kind: 'progress', skipped: 1 };
      return { kind: 'progress', failed: 1, failures: [{ code: item.errorCode ?? 'source_apply_failed', message: failure?.message ?? REFUSED_MESSAGE, item: item.externalId }] };
    };

    try {
      if (!(await report({ kind: 'progress', total: work.items.length }, 'total'))) return;
      // Results recorded by an earlier delivery whose events may not have been applied.
      for (const item of work.items) {
        if (item.result !== null && !(await report(itemEvent(item), `item:${item.externalId}`))) return;
      }
      let source: PolicySourceClient | null = null;
      for (const item of work.items) {
        if (item.result !== null) continue;
        // Shutting down: the job fails and is retried (here or on another worker), resuming at this item.
        signal.throwIfAborted();
        let failure: Failure | undefined;
        if (item.action === 'unchanged' || item.settings === null) {
          item.result = 'skipped';
        } else {
          source ??= await openSource(deps.sources, work.tenantId);
          failure = await applyItem(source, item, item.settings, signal, () => void lifecycle.heartbeat([runId]).catch(() => undefined), heartbeatMs);
          item.result = failure ? 'failed' : 'applied';
          item.errorCode = failure?.code ?? null;
        }
        await restores.recordItem(restoreId, item.externalId, item.result, item.errorCode);
        if (!(await report(itemEvent(item, failure), `item:${item.externalId}`))) return;
      }
      await report({ kind: 'completed' }, 'completed');
    } catch (error) {
      // Worker shutdown or a database outage: the job is retried (bee-queue) and resumes where it stopped.
      if (signal.aborted || isDatabaseUnavailable(error)) throw error;
      const failure = error instanceof Aborted ? error.failure : sanitizeError(error);
      if (!(error instanceof Aborted)) deps.logger.error({ runId, err: failure.message }, 'restore driver failed');
      await report({ kind: 'progress', failures: [failure] }, 'abort');
      await report({ kind: 'completed', abort: true }, 'completed');
    } finally {
      await restores.settle(runId);
    }
  };
}

async function openSource(sources: PolicySources, tenantId: string): Promise<PolicySourceClient> {
  try {
    return await sources.open(tenantId);
  } catch (error) {
    if (error instanceof SourceError) throw new Aborted({ code: error.code, message: error.message });
    throw error;
  }
}

/** Writes one policy back, heartbeating the run while the source takes its time; its failure, if refused. */
async function applyItem(
  source: PolicySourceClient,
  item: RestoreWorkItem,
  settings: Record<string, unknown>,
  signal: AbortSignal,
  heartbeat: () => void,
  heartbeatMs: number,
): Promise<Failure | undefined> {
  const timer = setInterval(heartbeat, heartbeatMs);
  try {
    await source.apply({ externalId: item.externalId, policyType: item.policyType, name: item.name, settings }, signal);
    return undefined;
  } catch (error) {
    if (signal.aborted) throw error;
    if (error instanceof SourceError && !ITEM_CODES.has(error.code)) throw new Aborted({ code: error.code, message: error.message });
    return sanitizeError(error, 'source_apply_failed');
  } finally {
    clearInterval(timer);
  }
}
