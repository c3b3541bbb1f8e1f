import { roleAtLeast, type Role } from '../access/roles.ts';
import { demoBatch, demoExternal, runsPurge } from './operations.ts';
import { scopeSchemaOf, type AnyOperationDeclaration, type JsonSchema, type StartNote } from './types.ts';

/** An operation type as a member sees it (`GET …/operation-types`). */
export type OperationTypeView = {
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
};

/** The operation types this install offers. Demo types only when RUNBOARD_DEMO_OPERATIONS is on. */
export class Catalog {
  readonly #byType: Map<string, AnyOperationDeclaration>;

  constructor(declarations: AnyOperationDeclaration[]) {
    this.#byType = new Map(declarations.map((d) => [d.type, d]));
  }

  static forConfig({ demoOperations }: { demoOperations: boolean }): Catalog {
    const declarations = [runsPurge];
    if (demoOperations) declarations.push(demoBatch, demoExternal);
    return new Catalog(declarations);
  }

  get(type: string): AnyOperationDeclaration | undefined {
    return this.#byType.get(type);
  }

  all(): AnyOperationDeclaration[] {
    return [...this.#byType.values()];
  }

  view(declaration: AnyOperationDeclaration, role: Role): OperationTypeView {
    return {
      type: declaration.type,
      label: declaration.label,
      description: declaration.description,
      minRole: declaration.minRole,
      mirrored: declaration.mirrored === true,
      canStart: roleAtLeast(role, declaration.minRole),
      scopeSchema: scopeSchemaOf(declaration),
      ...(declaration.startNote ? { startNote: declaration.startNote } : {}),
    };
  }

  canStart(type: string, role: Role): boolean {
    const declaration = this.get(type);
    return declaration !== undefined && roleAtLeast(role, declaration.minRole);
  }
}
