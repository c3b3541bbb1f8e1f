// A run's history, live (docs/api.md §11): read whole over HTTP, then grown by the entry each `run:update`
// carries (`history`, present when the change was recorded), merged by version. Every (re)connect and `resync`
// re-reads it whole, like the run itself (run-detail.svelte.ts). New entries that arrive live are announced
// politely, at most one progress point per half minute (run-timeline.ts).
import type { RunUpdatePayload } from '../../../server/live/events.ts';
import { api, endpoints, type RunHistoryAnswer } from './api.ts';
import { message } from './board.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';
import { announcementOf, mergeHistory, shouldAnnounce, type HistoryEntry } from './run-timeline.ts';

export class RunHistory {
  entries = $state.raw<readonly HistoryEntry[]>([]);
  /** Until the first read answers (or fails). */
  loading = $state(true);
  error = $state<string | null>(null);
  /** The latest live entry in words, for the timeline's polite status line. */
  announcement = $state('');

  readonly tenant: string;
  readonly id: string;
  readonly #live: LiveChannel;
  readonly #token: string | null;
  #release: (() => void)[] = [];
  #seq = 0;
  #progressAnnouncedAt: number | null = null;

  constructor(tenant: string, id: string, live: LiveChannel, token: string | null = null) {
    this.tenant = tenant;
    this.id = id;
    this.#live = live;
    this.#token = token;
  }

  start(): void {
    this.#release.push(
      this.#live.watchTenant(this.tenant),
      this.#live.onRunUpdate((payload) => this.#onUpdate(payload)),
      this.#live.onResync(() => void this.read()),
    );
    void this.read();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.#seq++;
  }

  /** Re-reads the whole history; entries pushed meanwhile are kept (they are merged by version). */
  async read(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const { history } = await api<RunHistoryAnswer>(endpoints.runHistory(this.tenant, this.id), { token: this.#token });
      if (seq !== this.#seq) return;
      this.entries = mergeHistory(this.entries, history);
      this.error = null;
    } catch (error) {
      if (seq !== this.#seq) return;
      this.error = message(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** "Retry" after a failed read: shows loading again until it answers. */
  retry(): void {
    this.loading = this.entries.length === 0;
    this.error = null;
    void this.read();
  }

  #onUpdate({ tenant, kind, run, history }: RunUpdatePayload): void {
    if (tenant !== this.tenant || run.id !== this.id) return;
    if (!history) {
      // Queued, started and completed are always recorded: a push of one without its entry (a server that does
      // not send them) is caught up by reading the history.
      if (kind !== 'progress') void this.read();
      return;
    }
    const next = mergeHistory(this.entries, [history]);
    if (next === this.entries) return;
    this.entries = next;
    const now = Date.now();
    if (!shouldAnnounce(history, this.#progressAnnouncedAt, now)) return;
    if (history.kind === 'progress') this.#progressAnnouncedAt = now;
    this.announcement = announcementOf(history, run.outcome);
  }
}
