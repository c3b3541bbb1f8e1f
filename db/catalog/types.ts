import type { z } from 'zod';
import type { Role } from '../access/roles.ts';

export type RelatedLink = { label: string; url: string };

/**
 * One operation type, as the server sees it: what it is called, who may start it, what input it takes and
 * which parts of that input make two starts "the same work". Handlers live in worker/operations/.
 */
export type OperationDeclaration<Scope extends Record<string, unknown> = Record<string, unknown>> = {
  type: string;
  label: string;
  description: string;
  minRole: Role;
  /** Strict zod object: unknown keys are rejected. */
  scope: z.ZodType<Scope>;
  /** Scope keys that form the identity; 'all' means the whole (parsed) scope. */
  identity: readonly (keyof Scope & string)[] | 'all';
  related: (scope: Scope, tenant: string) => RelatedLink[];
  /** Driven by another system through the events API: nothing is enqueued at start. */
  external?: boolean;
};

// Declarations are stored type-erased in the catalog; each one's own functions only ever see its parsed scope.
export type AnyOperationDeclaration = OperationDeclaration<Record<string, unknown>>;

export function declareOperation<Scope extends Record<string, unknown>>(
  declaration: OperationDeclaration<Scope>,
): AnyOperationDeclaration {
  return declaration as unknown as AnyOperationDeclaration;
}

export function identityOf(declaration: AnyOperationDeclaration, scope: Record<string, unknown>): Record<string, unknown> {
  if (declaration.identity === 'all') return scope;
  return Object.fromEntries(declaration.identity.map((key) => [key, scope[key]]));
}
