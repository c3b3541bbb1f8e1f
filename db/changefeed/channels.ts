// Every Redis key and channel name is built here, from REDIS_PREFIX, so installs (and test runs) sharing one
// Redis never meet — and so moving to per-tenant sharded channels later is a change to this file only.

export type Channels = { runs: string; users: string; control: string };

export function channels(prefix: string): Channels {
  return { runs: `${prefix}:runs`, users: `${prefix}:users`, control: `${prefix}:control` };
}

export function keyOf(prefix: string, ...parts: string[]): string {
  return [prefix, ...parts].join(':');
}

/** bee-queue's own key prefix (it appends `:<queue>:…`). */
export function queuePrefix(prefix: string): string {
  return `${prefix}:bq`;
}
