// The multi-tenant wall's rules that need no browser (docs/api.md §12): what its URL asks for, the order it
// rotates in, how many columns its grid takes, where burn-in drift moves it, and how a tile says the age of
// its data. Pure: tests/unit/dashboard-overview.test.ts.
import { shortDuration } from './format.ts';
import { alertBuckets } from './wall-alerts.ts';
import type { Bucket } from './vocabulary.ts';

/** The live channel may be down this long before a wall says its data is stale, loudly. */
export const STALE_AFTER_MS = 5_000;
/** `?rotate=` bounds, in seconds: faster cannot be read, slower is no rotation anyone waits for. */
export const ROTATE_MIN_S = 2;
export const ROTATE_MAX_S = 3_600;
/** Burn-in: the layout moves to its next offset this often, by at most this many pixels either way. */
export const DRIFT_EVERY_MS = 90_000;
export const DRIFT_PX = 4;

/** A tenant slug as tenants are created; anything else in `?tenants=` is ignored. */
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const MAX_TENANTS = 200;

export type WallParams = {
  kiosk: string | null;
  /** `?tenants=a,b`: narrows (and orders) the tenants shown; empty: all the caller's. */
  tenants: string[];
  /** `?rotate=<seconds>`: cycle full-screen tenant walls this often; null: the grid. */
  rotateMs: number | null;
  /** Buckets whose new runs alert (`?alert=partial` adds partially succeeded). */
  alertOn: readonly Bucket[];
  /** `?sound=1`: a short tone per new alert. */
  sound: boolean;
};

export function parseWallParams(params: Pick<URLSearchParams, 'get'>): WallParams {
  const tenants = [
    ...new Set(
      (params.get('tenants') ?? '')
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => SLUG.test(s)),
    ),
  ].slice(0, MAX_TENANTS);
  const rotate = Number(params.get('rotate') ?? '');
  const rotateMs = params.get('rotate') && Number.isFinite(rotate) && rotate > 0 ? Math.round(Math.min(ROTATE_MAX_S, Math.max(ROTATE_MIN_S, rotate)) * 1000) : null;
  const sound = ['1', 'true', 'on', 'yes'].includes((params.get('sound') ?? '').toLowerCase());
  return { kiosk: params.get('kiosk') || null, tenants, rotateMs, alertOn: alertBuckets(params.get('alert')), sound };
}

/** The query string of a link to the same wall with other settings (the kiosk token kept). */
export function wallSearch(params: WallParams, change: Partial<Pick<WallParams, 'tenants' | 'rotateMs'>>): string {
  const next = { ...params, ...change };
  const out = new URLSearchParams();
  if (next.kiosk) out.set('kiosk', next.kiosk);
  if (next.tenants.length > 0) out.set('tenants', next.tenants.join(','));
  if (next.rotateMs !== null) out.set('rotate', String(next.rotateMs / 1000));
  if (next.alertOn.includes('partially_succeeded')) out.set('alert', 'partial');
  if (next.sound) out.set('sound', '1');
  const text = out.toString();
  return text ? `?${text}` : '';
}

/**
 * The order tenants rotate in: the order `?tenants=` named them, else the order shown (by name). Only tenants
 * the caller sees take part; named ones it does not see are left out.
 */
export function rotationOrder(shown: readonly string[], wanted: readonly string[]): string[] {
  if (wanted.length === 0) return [...shown];
  const visible = new Set(shown);
  const named = wanted.filter((slug) => visible.has(slug));
  return [...named, ...shown.filter((slug) => !named.includes(slug))];
}

/** The tenant after `current` (wrapping); the first when `current` is gone or none yet; null when none is shown. */
export function nextTenant(order: readonly string[], current: string | null): string | null {
  if (order.length === 0) return null;
  const at = current === null ? -1 : order.indexOf(current);
  return order[(at + 1) % order.length]!;
}

/**
 * The tenant walls a rotating wall keeps mounted: the one shown and the `count − 1` after it, in order, so each
 * has read its figures (and keeps merging pushes) well before its turn — and still has them if the network
 * goes. With `count` or fewer tenants, all of them.
 */
export function rotationWindow(order: readonly string[], showing: string | null, count: number): string[] {
  const at = showing === null ? -1 : order.indexOf(showing);
  if (at < 0) return [];
  return Array.from({ length: Math.min(order.length, count) }, (_, i) => order[(at + i) % order.length]!);
}

/**
 * Columns and rows for `count` tiles in a `width`×`height` area, so that each tile is as large as it can be
 * for its `aspect` (width ÷ height) — landscape screens get wide grids, portrait ones tall ones.
 */
export function gridShape(count: number, width: number, height: number, aspect = 1.6): { columns: number; rows: number } {
  if (count <= 0 || width <= 0 || height <= 0) return { columns: 1, rows: 1 };
  let best = { columns: 1, rows: count, size: -1 };
  for (let columns = 1; columns <= count; columns++) {
    const rows = Math.ceil(count / columns);
    // The width of the largest tile of that aspect that fits a cell.
    const size = Math.min(width / columns, (height / rows) * aspect);
    if (size > best.size + 0.5) best = { columns, rows, size };
  }
  return { columns: best.columns, rows: best.rows };
}

const DRIFT_PATH: readonly (readonly [number, number])[] = [
  [0, 0],
  [0.75, 0.25],
  [0.25, 1],
  [-0.5, 0.75],
  [-1, 0],
  [-0.5, -0.75],
  [0.25, -1],
  [0.75, -0.5],
];

/** The burn-in offset at `now` (pixels): a slow walk around the centre, never more than DRIFT_PX away. */
export function driftOffset(now: number, everyMs = DRIFT_EVERY_MS, px = DRIFT_PX): { x: number; y: number } {
  const [x, y] = DRIFT_PATH[Math.floor(now / everyMs) % DRIFT_PATH.length]!;
  return { x: Math.round(x * px), y: Math.round(y * px) };
}

/**
 * The server's `readAt` on this browser's clock: taken as is when it falls within the request (the clocks
 * agree), else the answer's arrival (a kiosk's clock may be minutes off, and an age must never read negative).
 */
export function localReadTime(readAt: string, sentAt: number, receivedAt: number): number {
  const server = Date.parse(readAt);
  return Number.isFinite(server) && server >= sentAt - 1_000 && server <= receivedAt + 1_000 ? Math.min(server, receivedAt) : receivedAt;
}

export type FreshnessInput = {
  /** Last read or applied push of the tile, on this browser's clock; null before its first read. */
  freshAt: number | null;
  /** When a live connection was lost (null while live, and during the first connection). */
  downSince: number | null;
  live: boolean;
  /** When the tenant's subscription was refused, if it was. */
  refusedAt: number | null;
};

/**
 * A tile's data age in words, and whether it is stale: the channel lost for longer than STALE_AFTER_MS, or its
 * tenant's subscription refused. Stale data is as old as the last moment it was known current — the loss of
 * the connection, or the tile's last read or push, whichever is later.
 */
export function tileFreshness(input: FreshnessInput, now: number): { stale: boolean; text: string } {
  if (input.freshAt === null) return { stale: false, text: 'Loading…' };
  const lost = !input.live && input.downSince !== null && now - input.downSince > STALE_AFTER_MS;
  if (input.refusedAt !== null || lost) {
    const last = Math.max(input.freshAt, lost ? input.downSince! : 0);
    return { stale: true, text: `Live data lost — last update ${ago(now - last)}` };
  }
  return { stale: false, text: `updated ${ago(now - input.freshAt)}` };
}

/** When something happened, as short as a wall's tile has room for: "now" under 5 s, then "12 s", "4 min", "3 h". */
export function compactAgo(iso: string | null, now: number): string {
  if (!iso) return '—';
  const ms = Math.max(0, now - Date.parse(iso));
  return ms < 5_000 ? 'now' : shortDuration(ms);
}

/** "just now" under a second, then "3 s ago", "4 min ago", … */
export function ago(ms: number): string {
  return ms < 1_000 ? 'just now' : `${shortDuration(ms)} ago`;
}
