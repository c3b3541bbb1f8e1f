import { z } from 'zod';
import type { Role } from '../access/roles.ts';

export type RelatedLink = { label: string; url: string };

/** A JSON Schema document (2020-12), as zod derives it from a scope validator. */
export type JsonSchema = Record<string, unknown>;

/** Something a person should know before starting a type: what cannot be undone, who carries the work out. */
export type StartNote = { tone: 'info' | 'warning'; text: string };

/**
 * One operation type, as the server sees it: what it is called, who may start it, what input it takes and
 * which parts of that input make two starts "the same work". Handlers live in worker/operations/.
 */
export type OperationDeclaration<Scope extends Record<string, unknown> = Record<string, unknown>> = {
  type: string;
  label: string;
  description: string;
  minRole: Role;
  /**
   * Strict zod object: unknown keys are rejected. Its fields' `.meta({ title, description })` label the
   * dashboard's start form, which is built from the JSON Schema derived from it (`scopeSchemaOf`).
   */
  scope: z.ZodType<Scope>;
  /** Scope keys that form the identity; 'all' means the whole (parsed) scope. */
  identity: readonly (keyof Scope & string)[] | 'all';
  /** Links to what the run acted on (dashboard paths), from its scope; `run` is the run's own id. */
  related: (scope: Scope, run: { tenant: string; runId: string }) => RelatedLink[];
  /** Carried out by another system, which reports the run's life through the events API: nothing is enqueued. */
  mirrored?: boolean;
  startNote?: StartNote;
  /**
   * The module whose records own this type's runs (a restore owns its `restore.execute` run): only that module
   * starts it, never `POST …/runs`. Its start surface is the module's own page.
   */
  ownedBy?: string;
  /** Where a person starts this type in the dashboard, when that is a feature page rather than a Start dialog. */
  startSurface?: { label: string; path: (tenant: string) => string };
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

const schemas = new WeakMap<AnyOperationDeclaration, JsonSchema>();

/** The scope's JSON Schema, as an API client would send it (input side: defaults are optional). */
export function scopeSchemaOf(declaration: AnyOperationDeclaration): JsonSchema {
  let schema = schemas.get(declaration);
  if (!schema) {
    schema = z.toJSONSchema(declaration.scope, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    schemas.set(declaration, schema);
  }
  return schema;
}
