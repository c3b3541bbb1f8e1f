// Numbers, times and durations as people read them. Pure, so the same text shows everywhere.

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

export function formatCount(value: number): string {
  return integer.format(value);
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** Counts on a wall's tile: exact up to 9,999, then "12.3K", so a number always fits its counter. */
export function formatShortCount(value: number): string {
  return value < 10_000 ? integer.format(value) : compact.format(value);
}

/** "12 s ago", "4 min ago", "3 h ago", "2 d ago"; "just now" under 5 s; future times read "in …". */
export function relativeTime(iso: string | null, now: number): string {
  if (!iso) return '—';
  const ms = now - Date.parse(iso);
  const future = ms < -5_000;
  const abs = Math.abs(ms);
  if (abs < 5_000) return 'just now';
  const text = shortDuration(abs);
  return future ? `in ${text}` : `${text} ago`;
}

/** The coarsest unit that fits: "12 s", "4 min", "3 h", "2 d". */
export function shortDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** Precise duration: "850 ms", "42 s", "3 min 05 s", "2 h 04 min". */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${decimal.format(ms / 1000)} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${String(min % 60).padStart(2, '0')} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Between two ISO instants, or from one to `now` while it runs. */
export function between(fromIso: string | null, toIso: string | null, now: number): number | null {
  if (!fromIso) return null;
  return (toIso ? Date.parse(toIso) : now) - Date.parse(fromIso);
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
});
const dateTimeThisYear = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: 'numeric',
  minute: '2-digit',
  second: '2-digit',
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** "Nov 23, 2:20:34 PM" (the year only when it is not this one), in the viewer's locale and time zone. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return (date.getFullYear() === new Date().getFullYear() ? dateTimeThisYear : dateTime).format(date);
}

export function formatTime(ms: number): string {
  return timeOnly.format(new Date(ms));
}

/**
 * Items per second of a running run, measured between its start and its last persisted change (both from
 * the server, so a coarse local clock cannot skew it); null until there is something to measure.
 */
export function rate(run: { counts: { processed: number }; startedAt: string | null; updatedAt: string }): number | null {
  if (!run.startedAt || run.counts.processed <= 0) return null;
  const seconds = (Date.parse(run.updatedAt) - Date.parse(run.startedAt)) / 1000;
  return seconds > 0.25 ? run.counts.processed / seconds : null;
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 10) return `${integer.format(perSecond)}/s`;
  if (perSecond >= 1) return `${decimal.format(perSecond)}/s`;
  return `${decimal.format(perSecond * 60)}/min`;
}

/** Remaining time at the current rate; null when it cannot be estimated. */
export function eta(counts: { total: number; processed: number }, perSecond: number | null): number | null {
  if (!perSecond || counts.total <= 0 || counts.processed >= counts.total) return null;
  return ((counts.total - counts.processed) / perSecond) * 1000;
}

/** The estimate counted down since the run's last change, so it ticks between pushes. */
export function timeLeft(
  run: { counts: { total: number; processed: number }; updatedAt: string },
  perSecond: number | null,
  now: number,
): number | null {
  const estimate = eta(run.counts, perSecond);
  if (estimate === null) return null;
  return Math.max(0, estimate - Math.max(0, now - Date.parse(run.updatedAt)));
}

/** "~12 s left", "~3 min left"; "finishing…" once the estimate runs out. */
export function etaText(ms: number): string {
  if (ms < 1000) return 'finishing…';
  return `~${ms < 60_000 ? `${Math.round(ms / 1000)} s` : shortDuration(ms)} left`;
}

export function percent(processed: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, (processed / total) * 100));
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
