import { roleAtLeast, type Role } from '../access/roles.ts';
import { backupAddPolicies, demoBatch, demoExternal, driftGenerate, inventorySync, restoreExecute, runsPurge } from './operations.ts';
import { scopeSchemaOf, type AnyOperationDeclaration } from './types.ts';
import type { RunBaseline } from '../runs/model.ts';
import type { OperationTypeView } from './view.ts';

export type { OperationTypeView };

/** The operation types this install offers. Demo types only when RUNBOARD_DEMO_OPERATIONS is on. */
export class Catalog {
  readonly #byType: Map<string, AnyOperationDeclaration>;

  constructor(declarations: AnyOperationDeclaration[]) {
    this.#byType = new Map(declarations.map((d) => [d.type, d]));
  }

  static forConfig({ demoOperations }: { demoOperations: boolean }): Catalog {
    const declarations = [inventorySync, driftGenerate, backupAddPolicies, restoreExecute, runsPurge];
    if (demoOperations) declarations.push(demoBatch, demoExternal);
    return new Catalog(declarations);
  }

  get(type: string): AnyOperationDeclaration | undefined {
    return this.#byType.get(type);
  }

  all(): AnyOperationDeclaration[] {
    return [...this.#byType.values()];
  }

  /** The type as `role` sees it, with its measured baseline in the tenant. */
  view(declaration: AnyOperationDeclaration, role: Role, tenant: string | undefined, baseline: RunBaseline): OperationTypeView {
    return {
      ...baseline,
      type: declaration.type,
      label: declaration.label,
      description: declaration.description,
      minRole: declaration.minRole,
      mirrored: declaration.mirrored === true,
      canStart: roleAtLeast(role, declaration.minRole),
      scopeSchema: scopeSchemaOf(declaration),
      owned: declaration.ownedBy !== undefined,
      ...(declaration.startNote ? { startNote: declaration.startNote } : {}),
      ...(declaration.startSurface && tenant
        ? { startSurface: { label: declaration.startSurface.label, url: declaration.startSurface.path(tenant) } }
        : {}),
    };
  }

  canStart(type: string, role: Role): boolean {
    const declaration = this.get(type);
    return declaration !== undefined && roleAtLeast(role, declaration.minRole);
  }
}
