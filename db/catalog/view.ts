import type { Role } from '../access/roles.ts';
import type { RunBaseline } from '../runs/model.ts';
import type { JsonSchema, StartNote } from './types.ts';

/** An operation type as a member sees it (`GET …/operation-types`), with its measured baseline. */
export type OperationTypeView = RunBaseline & {
  type: string;
  label: string;
  description: string;
  minRole: Role;
  /** Carried out by another system that reports the run's life (docs/api.md §9): nothing is queued here. */
  mirrored: boolean;
  canStart: boolean;
  /** JSON Schema (2020-12) of the scope, derived from the type's own validator: start forms are built from it. */
  scopeSchema: JsonSchema;
  startNote?: StartNote;
  /** The feature page this type is started from (for types owned by a module, the only way to start it). */
  startSurface?: { label: string; url: string };
  /** Started only by its own module (e.g. a restore's preview); `POST …/runs` refuses it. */
  owned: boolean;
};
