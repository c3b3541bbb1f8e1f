// "Run again" on a completed run's detail (docs/api.md §6): who may start its type again and where. Pure: the
// role and the type's flags come from the member's catalog (GET …/operation-types); the server still decides.
import type { OperationTypeView, Role, RunView } from '../../../server/http/contract.ts';

/**
 * dialog: the type's start dialog, prefilled with the run's scope; surface: a link to the feature page that
 * starts the type ("Run again from Inventory"); none: nothing is offered.
 */
export type RunAgainMode = { kind: 'dialog' } | { kind: 'surface'; label: string; url: string } | { kind: 'none' };

const NONE: RunAgainMode = { kind: 'none' };

/**
 * Offered only for a completed run, to a signed-in member above read-only whose role may start the type
 * (`canStart`), and only for types started here: not those only their own module starts (`owned`), nor
 * mirrored ones (an outside system does that work). A type with a feature page is started again there.
 */
export function runAgainMode(
  run: Pick<RunView, 'status'>,
  type: Pick<OperationTypeView, 'canStart' | 'owned' | 'mirrored' | 'startSurface'> | undefined,
  role: Role | null | undefined,
): RunAgainMode {
  if (run.status !== 'completed' || !type || !role || role === 'readonly') return NONE;
  if (!type.canStart || type.owned || type.mirrored) return NONE;
  if (type.startSurface) return { kind: 'surface', label: type.startSurface.label, url: type.startSurface.url };
  return { kind: 'dialog' };
}
