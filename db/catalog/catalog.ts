import { roleAtLeast, type Role } from '../access/roles.ts';
import { demoBatch, demoExternal, runsPurge } from './operations.ts';
import type { AnyOperationDeclaration } from './types.ts';

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

  canStart(type: string, role: Role): boolean {
    const declaration = this.get(type);
    return declaration !== undefined && roleAtLeast(role, declaration.minRole);
  }
}
