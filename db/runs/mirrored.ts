import type { TenantRef } from '../access/actor.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { AppError, invalidTransition, notFound } from '../errors.ts';
import type { RunEvent, RunLifecycle } from './lifecycle.ts';
import type { ChangeAuthor } from './model.ts';
import type { RunQueries } from './queries.ts';
import { summaryOf, type RunView } from './view.ts';

/**
 * Mirrored runs (docs/api.md §9): work carried out by another system, which reports the run's life. Each
 * accepted event is one persisted change, pushed and notified like a worker's; a retried `eventId` changes
 * nothing; a transition that would not move forward is refused and changes nothing.
 */
export class MirroredRuns {
  constructor(
    private readonly lifecycle: RunLifecycle,
    private readonly runs: RunQueries,
    private readonly catalog: Catalog,
  ) {}

  async report(tenant: TenantRef, runId: string, event: RunEvent, by: ChangeAuthor, eventId?: string): Promise<RunView> {
    const run = await this.runs.get(tenant.id, runId);
    if (!run) throw notFound('The run');
    const declaration = this.catalog.get(run.type);
    if (!declaration?.mirrored) {
      throw new AppError(409, 'not_mirrored', 'This run is processed by Runboard workers; it takes no reported events.');
    }
    // A run owned by a record (a restore's) is driven by that record alone, so the two never disagree.
    if (declaration.ownedBy !== undefined) {
      throw new AppError(409, 'reported_elsewhere', `This run is driven by its ${declaration.ownedBy} record; it takes no reported events.`);
    }
    const result = await this.lifecycle.applyEvent(runId, event, by, eventId);
    if (result.outcome === 'missing') throw notFound('The run');
    if (result.outcome === 'refused') {
      throw invalidTransition(`The run is ${result.status}; a "${event.kind}" event cannot be applied to it.`);
    }
    // Applied: the committed row of this very change. A duplicate: the run as it now stands.
    if (result.outcome === 'applied') return result.run;
    const current = await this.runs.get(tenant.id, runId);
    if (!current) throw notFound('The run');
    return summaryOf(current);
  }
}
