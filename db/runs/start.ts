import type BeeQueue from 'bee-queue';
import { authorOf, type Caller, type TenantRef } from '../access/actor.ts';
import { requireTenantAccess } from '../access/policy.ts';
import type { Catalog } from '../catalog/catalog.ts';
import { AppError, forbidden, validationFailed } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { TenantService } from '../tenants/service.ts';
import { enqueueRun, type RunJob } from '../queue.ts';
import { inspectInput, issueDetails } from '../validation.ts';
import type { RunLifecycle } from './lifecycle.ts';
import { author } from './model.ts';
import { runUrl, type RunView, type StartAnswer } from './view.ts';

/** `initiator` may be given by integration tokens only: the member on whose behalf the work runs. */
export type StartRequest = { type: string; scope: unknown; initiator?: { email: string } };
export type { StartAnswer };

const INVALID_SCOPE = 'The scope is not valid for this operation type.';
const DISPATCH = author('system', 'dispatch');

/**
 * Completes or checks a parsed scope against the database before the run exists, e.g. `drift.generate`
 * choosing its two snapshots. May throw an AppError (a 4xx), in which case nothing is created.
 */
export type ScopePreparer = (tenant: TenantRef, scope: Record<string, unknown>) => Promise<Record<string, unknown>>;

/** 503 carrying the run that could not be dispatched (docs/api.md §1, dispatch safety). */
export class DispatchFailedError extends AppError {
  constructor(readonly run: RunView) {
    super(503, 'dispatch_failed', 'The run could not be queued for a worker. It has been marked failed; try again.');
  }
}

/**
 * Starting work is enqueue-only: authorize → validate the scope → create or reuse the run → enqueue →
 * answer. Nothing of the operation runs here, so it answers fast whether workers are busy or down.
 */
export class RunStarter {
  constructor(
    private readonly tenants: TenantService,
    private readonly catalog: Catalog,
    private readonly lifecycle: RunLifecycle,
    private readonly queue: BeeQueue<RunJob>,
    private readonly logger: Logger,
  ) {}

  readonly #preparers = new Map<string, ScopePreparer>();

  /** Registers the preparer of a type's scope (one per type; the module that owns the type's records). */
  prepare(type: string, preparer: ScopePreparer): void {
    if (this.#preparers.has(type)) throw new Error(`${type} already has a scope preparer`);
    this.#preparers.set(type, preparer);
  }

  /**
   * `options.owner`: the module starting a type it owns (`ownedBy`), e.g. a restore's preview starting its
   * `restore.execute` run; such types are refused to everyone else, so their records cannot be bypassed.
   */
  async start(actor: Caller, tenantSlug: string, request: StartRequest, options: { owner?: string } = {}): Promise<StartAnswer> {
    const declaration = this.catalog.get(request.type);
    // Access first, so callers who may start nothing learn nothing about the catalog.
    const access = requireTenantAccess(actor, tenantSlug, 'start');
    if (!declaration) throw validationFailed([{ path: 'type', message: 'Unknown operation type.' }]);
    if (declaration.ownedBy !== undefined && declaration.ownedBy !== options.owner) {
      throw new AppError(409, 'started_elsewhere', `${declaration.label} runs are started from their own page (${declaration.ownedBy}), not through this endpoint.`);
    }
    if (actor.kind === 'integration') {
      if (!declaration.mirrored) throw forbidden('Integration tokens may start mirrored operation types only.');
    } else if (actor.kind !== 'system') {
      requireTenantAccess(actor, tenantSlug, { role: declaration.minRole });
      if (request.initiator) {
        throw validationFailed([{ path: 'initiator', message: 'Only integration tokens may name an initiator.' }]);
      }
    }
    // An absent scope means "all defaults"; anything else (null included) must satisfy the type's schema.
    const scope = request.scope === undefined ? {} : request.scope;
    const { unsafePaths, tooDeep } = inspectInput(scope);
    if (tooDeep) throw validationFailed([{ path: 'scope', message: 'is nested too deeply' }], INVALID_SCOPE);
    if (unsafePaths.length > 0) {
      throw validationFailed(
        unsafePaths.slice(0, 20).map((path) => ({ path: ['scope', path].filter(Boolean).join('.'), message: 'must not contain NUL bytes or malformed Unicode' })),
        INVALID_SCOPE,
      );
    }
    const parsed = declaration.scope.safeParse(scope);
    if (!parsed.success) throw validationFailed(issueDetails(parsed.error, 'scope'), INVALID_SCOPE);
    const preparer = this.#preparers.get(declaration.type);
    const prepared = preparer ? await preparer(access.tenant, parsed.data) : parsed.data;
    const initiatorId =
      actor.kind === 'user' ? actor.user.id : request.initiator ? await this.tenants.memberId(access.tenant.id, request.initiator.email) : null;
    const { run, reused } = await this.lifecycle.start({
      tenant: access.tenant,
      declaration,
      scope: prepared,
      initiatorId,
      by: authorOf(actor),
    });
    const url = runUrl(tenantSlug, run.id);
    if (reused || declaration.mirrored) return { run, reused, url };
    return { run: await this.dispatch(run), reused, url };
  }

  /** Hands a new run to the workers; if that fails the run ends `failed/dispatch_failed` at once. */
  async dispatch(run: RunView): Promise<RunView> {
    try {
      await enqueueRun(this.queue, { runId: run.id, type: run.type });
      return run;
    } catch (error) {
      this.logger.error({ runId: run.id, err: (error as Error).message }, 'enqueue failed; run marked dispatch_failed');
      const failed = await this.lifecycle.fail(run.id, {
        code: 'dispatch_failed',
        message: 'The run could not be handed to a worker (queue unavailable).',
      }, DISPATCH);
      throw new DispatchFailedError(failed ?? run);
    }
  }
}
