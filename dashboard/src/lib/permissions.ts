// What the signed-in member may do on the policy pages (docs/api.md §10) and with webhooks (§13), so a control the server would
// refuse is shown disabled with the reason instead. The server still decides: every write checks the role.
// Starts take the caller's `canStart` and the type's minimum role from the catalog (GET …/operation-types).
import type { OperationTypeView, Role } from '../../../server/http/contract.ts';
import { roleReason } from './start-forms.ts';

/** `reason` null: not known yet (the catalog is still loading), so nothing is said. */
export type Permission = { ok: true } | { ok: false; reason: string | null };

const ALLOWED: Permission = { ok: true };

/** Starting runs of a type: its `canStart` for this caller, else the role it needs. */
export function mayStart(type: Pick<OperationTypeView, 'canStart' | 'minRole'> | undefined, catalogFailed = false): Permission {
  if (!type) return { ok: false, reason: catalogFailed ? 'The operation types could not be read; reload the page.' : null };
  return type.canStart ? ALLOWED : { ok: false, reason: roleReason(type.minRole) };
}

/** Owners only (the top role, so no ranking is needed). */
function ownersOnly(role: Role | null | undefined): Permission {
  return role === 'owner' ? ALLOWED : { ok: false, reason: roleReason('owner') };
}

/** Setting the policy source. */
export const mayConfigureSource = ownersOnly;

/** Seeing and changing webhooks (docs/api.md §13): they send the tenant's runs elsewhere, and a URL may be a secret. */
export const mayManageWebhooks = ownersOnly;

/**
 * Changing restores (create, preview, execute, discard) needs the minimum role of their run's type,
 * `restore.execute` — the same role the restore routes ask for.
 */
export function mayRestore(restoreType: Pick<OperationTypeView, 'canStart' | 'minRole'> | undefined, catalogFailed = false): Permission {
  return mayStart(restoreType, catalogFailed);
}

/** Both allowed, or the first reason. */
export function both(first: Permission, second: Permission): Permission {
  return first.ok ? second : first;
}
