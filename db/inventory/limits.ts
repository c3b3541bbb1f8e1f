// What an inventory snapshot stores of a policy: its column limits (db/inventory/entity.ts) and how deeply
// its settings may nest (deeper ones are refused as unreadable, so hashing and diffing never recurse past it).

import { inspectInput, MAX_INPUT_DEPTH } from '../validation.ts';

export const INVENTORY_LIMITS = { externalId: 200, name: 400, policyType: 200 } as const;

/** How deep settings may nest: the one bound of every JSON input we walk (real policies nest a dozen levels). */
export const MAX_SETTINGS_DEPTH = MAX_INPUT_DEPTH;

export type SettingsProblem = 'unsafe_text' | 'too_deep';

/**
 * Whether settings can be stored and compared: no text PostgreSQL refuses (NUL bytes, broken Unicode, in
 * keys or values) and no nesting deeper than MAX_SETTINGS_DEPTH — the same check as every scope's.
 */
export function settingsProblem(settings: unknown): SettingsProblem | null {
  const { unsafePaths, tooDeep } = inspectInput(settings);
  if (tooDeep) return 'too_deep';
  return unsafePaths.length > 0 ? 'unsafe_text' : null;
}
