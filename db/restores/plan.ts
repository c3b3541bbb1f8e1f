// The preview rule of a restore (docs/api.md §10), pure: what executing would do to one captured policy,
// given the source's settings as the latest inventory snapshot holds them. Field diffs are drift's.
import { diffSettings } from '../drift/diff.ts';
import type { DriftField } from '../drift/entity.ts';
import { settingsHash } from '../sources/source.ts';
import type { RestoreAction } from './entity.ts';

/**
 * `create` when the inventory does not have the policy, `update` when its settings hash differs (with the
 * differing fields: `before` the source's value, `after` the backup's), `unchanged` otherwise.
 */
export function planItem(
  backup: { settings: Record<string, unknown>; settings_hash: string },
  current: Record<string, unknown> | undefined,
): { action: RestoreAction; fields: DriftField[] } {
  if (!current) return { action: 'create', fields: diffSettings(null, backup.settings).fields };
  if (settingsHash(current) === backup.settings_hash) return { action: 'unchanged', fields: [] };
  return { action: 'update', fields: diffSettings(current, backup.settings).fields };
}
