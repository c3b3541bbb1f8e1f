// A run's timeline on its detail page (docs/api.md §11 run history), the pure parts: merging the history read
// over HTTP with the entries pushes add, grouping long stretches of progress points so a long run stays
// readable, and every entry in words. Pure (no runes, no I/O): tested in tests/unit/dashboard-detail.test.ts.
import type { RunHistoryEntry } from '../../../server/http/contract.ts';
import { outcomeOf, type RunOutcome } from '../../../db/runs/model.ts';
import { duration, formatCount } from './format.ts';
import type { Bucket } from './vocabulary.ts';

export type HistoryEntry = RunHistoryEntry;
export type AuthorKind = RunHistoryEntry['by']['kind'];

/**
 * The history with `added` merged in: one entry per version (entries never change once recorded), sorted by
 * version. Returns `current` itself when nothing is new, so a repeated push changes nothing on screen.
 */
export function mergeHistory(current: readonly HistoryEntry[], added: readonly HistoryEntry[]): readonly HistoryEntry[] {
  const last = current.at(-1);
  // The live case: one entry newer than everything shown.
  if (added.length === 1 && (!last || added[0]!.version > last.version)) return [...current, added[0]!];
  const known = new Set(current.map((e) => e.version));
  const fresh: HistoryEntry[] = [];
  for (const entry of added) {
    if (known.has(entry.version)) continue;
    known.add(entry.version);
    fresh.push(entry);
  }
  if (fresh.length === 0) return current;
  return [...current, ...fresh].sort((a, b) => a.version - b.version);
}

// ── Grouping ───────────────────────────────────────────────────────────────────────────────────────────────

/** A stretch of more consecutive progress points than this is shown as its first, "… N updates" and its last. */
export const COLLAPSE_AFTER = 5;

export type TimelineEntryItem = {
  kind: 'entry';
  entry: HistoryEntry;
  /** Since the entry before it in the history (shown or not); null for the first. */
  gapMs: number | null;
  /** The entry before it in the history, if any (to tell whether its day differs). */
  previous: HistoryEntry | null;
};

/** The hidden middle of a long stretch of progress points, or, when expanded, the control that hides it again. */
export type TimelineGroupItem = {
  kind: 'group';
  /** The version of the stretch's first progress point: stable while the stretch grows live. */
  key: number;
  expanded: boolean;
  /** The progress points between the stretch's first and last. */
  hidden: HistoryEntry[];
};

export type TimelineItem = TimelineEntryItem | TimelineGroupItem;

/**
 * The timeline as shown, oldest first. A stretch of more than `collapseAfter` consecutive progress points
 * shows its first and last point around one group item for those between; a stretch whose key is in
 * `expanded` shows every point, after its group item (the control stays where it was).
 */
export function groupTimeline(history: readonly HistoryEntry[], expanded: ReadonlySet<number> = new Set(), collapseAfter = COLLAPSE_AFTER): TimelineItem[] {
  const items: TimelineItem[] = [];
  const entryItem = (index: number): TimelineEntryItem => {
    const entry = history[index]!;
    const previous = index > 0 ? history[index - 1]! : null;
    return { kind: 'entry', entry, previous, gapMs: previous ? Math.max(0, Date.parse(entry.at) - Date.parse(previous.at)) : null };
  };
  let index = 0;
  while (index < history.length) {
    if (history[index]!.kind !== 'progress') {
      items.push(entryItem(index++));
      continue;
    }
    let end = index;
    while (end < history.length && history[end]!.kind === 'progress') end++;
    const length = end - index;
    if (length <= collapseAfter) {
      for (let i = index; i < end; i++) items.push(entryItem(i));
    } else {
      const key = history[index]!.version;
      const open = expanded.has(key);
      items.push(entryItem(index));
      items.push({ kind: 'group', key, expanded: open, hidden: history.slice(index + 1, end - 1) });
      if (open) for (let i = index + 1; i < end - 1; i++) items.push(entryItem(i));
      items.push(entryItem(end - 1));
    }
    index = end;
  }
  return items;
}

/** "37 more progress updates · 130 → 470 processed over 3 min 05 s" (collapsed), "Hide 37 progress updates" (expanded). */
export function groupText(group: Pick<TimelineGroupItem, 'hidden' | 'expanded'>): string {
  const count = group.hidden.length;
  const noun = count === 1 ? 'progress update' : 'progress updates';
  if (group.expanded) return `Hide ${formatCount(count)} ${noun}`;
  const first = group.hidden[0];
  const last = group.hidden.at(-1);
  if (!first || !last) return `${formatCount(count)} more ${noun}`;
  const span = Math.max(0, Date.parse(last.at) - Date.parse(first.at));
  return `${formatCount(count)} more ${noun} · ${formatCount(first.counts.processed)} → ${formatCount(last.counts.processed)} processed over ${duration(span)}`;
}

// ── In words ───────────────────────────────────────────────────────────────────────────────────────────────

export const AUTHOR_KIND_LABELS: Record<AuthorKind, string> = { user: 'user', worker: 'worker', integration: 'integration', system: 'system' };

const OUTCOME_WORDS: Record<Exclude<RunOutcome, 'pending'>, string> = {
  succeeded: 'succeeded',
  partially_succeeded: 'partially succeeded',
  failed: 'failed',
};

/**
 * The outcome a completed entry stands for: the run's own (its history has one completion, so the run's
 * outcome is that entry's), or — before the run's copy says it — what the entry's counts make of it.
 */
export function completedOutcome(entry: Pick<HistoryEntry, 'counts'>, runOutcome: RunOutcome | null | undefined): Exclude<RunOutcome, 'pending'> {
  return runOutcome && runOutcome !== 'pending' ? runOutcome : outcomeOf(entry.counts);
}

/** "Progress 120 / 500 — 3 failed"; without a known total "Progress 120 processed"; skipped items too. */
export function progressText(counts: HistoryEntry['counts']): string {
  const head = counts.total > 0 ? `Progress ${formatCount(counts.processed)} / ${formatCount(counts.total)}` : `Progress ${formatCount(counts.processed)} processed`;
  const extra = [
    ...(counts.failed > 0 ? [`${formatCount(counts.failed)} failed`] : []),
    ...(counts.skipped > 0 ? [`${formatCount(counts.skipped)} skipped`] : []),
  ];
  return extra.length > 0 ? `${head} — ${extra.join(', ')}` : head;
}

/** What happened: "Queued", "Started", "Progress 120 / 500 — 3 failed", "Completed: partially succeeded". */
export function entryWhat(entry: Pick<HistoryEntry, 'kind' | 'counts'>, runOutcome?: RunOutcome | null): string {
  switch (entry.kind) {
    case 'queued':
      return 'Queued';
    case 'started':
      return 'Started';
    case 'progress':
      return progressText(entry.counts);
    case 'completed':
      return `Completed: ${OUTCOME_WORDS[completedOutcome(entry, runOutcome)]}`;
  }
}

/** The counts a completion ended with: "3 succeeded, 3 failed of 6 items" (skipped ones when there are any). */
export function completedCounts(counts: HistoryEntry['counts']): string {
  const parts = [`${formatCount(counts.succeeded)} succeeded`, `${formatCount(counts.failed)} failed`];
  if (counts.skipped > 0) parts.push(`${formatCount(counts.skipped)} skipped`);
  return `${parts.join(', ')} of ${formatCount(counts.total)} ${counts.total === 1 ? 'item' : 'items'}`;
}

/** The name of who made the change; a blank one reads as its kind. */
export function authorName(by: HistoryEntry['by']): string {
  const name = by.name.trim();
  return name !== '' ? name : `an unnamed ${AUTHOR_KIND_LABELS[by.kind]}`;
}

/** Who, in a sentence: "Alice", "worker node-1 (pid 42)", "integration CI pipeline", "system job daily purge". */
export function authorPhrase(by: HistoryEntry['by']): string {
  const name = by.name.trim();
  if (name === '') return authorName(by);
  switch (by.kind) {
    case 'user':
      return name;
    case 'worker':
      return `worker ${name}`;
    case 'integration':
      return `integration ${name}`;
    case 'system':
      return `system job ${name}`;
  }
}

/** The entry as one sentence: "Queued by Alice", "Started by worker node-1 (pid 42)", "Completed: failed, by system job lost-worker sweep". */
export function entrySentence(entry: Pick<HistoryEntry, 'kind' | 'counts' | 'by'>, runOutcome?: RunOutcome | null): string {
  const what = entryWhat(entry, runOutcome);
  const by = authorPhrase(entry.by);
  return entry.kind === 'queued' || entry.kind === 'started' ? `${what} by ${by}` : `${what}, by ${by}`;
}

/** The colour and icon of an entry (always next to its words): the completion takes its outcome's. */
export type EntryTone = Bucket | 'progress';

export function entryTone(entry: Pick<HistoryEntry, 'kind' | 'counts'>, runOutcome?: RunOutcome | null): EntryTone {
  switch (entry.kind) {
    case 'queued':
      return 'queued';
    case 'started':
      return 'running';
    case 'progress':
      return 'progress';
    case 'completed':
      return completedOutcome(entry, runOutcome);
  }
}

/** "+4.2 s" since the entry before. */
export function gapText(ms: number): string {
  return `+${duration(ms)}`;
}

// ── Announcing ─────────────────────────────────────────────────────────────────────────────────────────────

/** Progress points are announced at most this often (every other change always): news, not a ticker. */
export const ANNOUNCE_PROGRESS_EVERY_MS = 30_000;

/**
 * Whether a live entry is worth announcing: queued, started and completed always; a progress point only when
 * none was announced in the last `ANNOUNCE_PROGRESS_EVERY_MS`.
 */
export function shouldAnnounce(entry: Pick<HistoryEntry, 'kind'>, lastProgressAnnouncedAt: number | null, nowMs: number): boolean {
  if (entry.kind !== 'progress') return true;
  return lastProgressAnnouncedAt === null || nowMs - lastProgressAnnouncedAt >= ANNOUNCE_PROGRESS_EVERY_MS;
}

/** What a screen reader hears when an entry arrives live. */
export function announcementOf(entry: Pick<HistoryEntry, 'kind' | 'counts' | 'by'>, runOutcome?: RunOutcome | null): string {
  return `Timeline: ${entrySentence(entry, runOutcome)}.`;
}
