import type { BackupService } from '../../db/backups/service.ts';
import type { PolicySourceService } from '../../db/sources/service.ts';
import { SourceError } from '../../db/sources/source.ts';
import type { OperationHandler } from '../runner.ts';

type AddPoliciesScope = { backupSetId: string; policyIds: string[]; backupSetName?: string };

/** Opens a tenant's policy source; SourceError when it cannot (none configured, unreadable settings). */
export type PolicySources = Pick<PolicySourceService, 'open'>;

/**
 * `backup_set.add_policies` (docs/api.md §10): captures each chosen policy's current settings from the source
 * into the set. One item per policy: captured (succeeded), captured before with the same settings (skipped),
 * or not readable (`policy_not_found`, `source_item_unreadable`: failed). A source that cannot be read at all
 * aborts the run with its code.
 */
export function backupAddPolicies(deps: { sources: PolicySources; backups: BackupService }): OperationHandler<AddPoliciesScope> {
  return async (ctx) => {
    const { backupSetId, policyIds } = ctx.scope;
    ctx.setTotal(policyIds.length);
    try {
      const source = await deps.sources.open(ctx.tenant.id);
      for (const externalId of policyIds) {
        ctx.signal.throwIfAborted();
        const read = await source.get(externalId, ctx.signal);
        if (!read.ok) {
          ctx.failed({ code: read.code, message: read.message, item: externalId });
          continue;
        }
        const result = await deps.backups.capture(backupSetId, read.policy, ctx.run.id);
        if (result === 'unchanged') ctx.skipped();
        else ctx.succeeded();
      }
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      ctx.abort({ code: error.code, message: error.message });
    }
  };
}
