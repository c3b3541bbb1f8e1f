// The inbox (docs/api.md §5): the unread badge everywhere, read once, then kept by `notification:new` /
// `notification:read` pushes (which carry the count, so every tab agrees) and re-read after reconnects and
// `resync`; and the inbox page's list of notifications.
import type { NotificationNewPayload, NotificationReadPayload, NotificationView } from '../../../server/live/events.ts';
import { api, endpoints, type NotificationsPage } from './api.ts';
import type { LiveChannel } from './live.svelte.ts';
import { appendPage } from './pages.ts';

export class Inbox {
  unreadCount = $state<number | null>(null);

  readonly #live: LiveChannel;
  #release: (() => void)[] = [];
  #readSeq = 0;

  constructor(live: LiveChannel) {
    this.#live = live;
  }

  start(): void {
    this.#release.push(
      this.#live.onNotificationNew((payload: NotificationNewPayload) => {
        this.unreadCount = payload.unreadCount;
      }),
      this.#live.onNotificationRead((payload: NotificationReadPayload) => {
        this.unreadCount = payload.unreadCount;
      }),
      this.#live.onResync(() => void this.refresh()),
    );
    void this.refresh();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.#readSeq++;
  }

  async refresh(): Promise<void> {
    const seq = ++this.#readSeq;
    try {
      const page = await api<NotificationsPage>(endpoints.notifications({ unread: true, limit: 1 }));
      if (seq === this.#readSeq) this.unreadCount = page.unreadCount;
    } catch {
      // keep the last count; the connection indicator tells about trouble
    }
  }
}

const PAGE_SIZE = 50;

/**
 * The inbox page's list (docs/api.md §5): newest first, all or unread only, paged; new and read pushes are
 * applied as they come, and every (re)connect and `resync` re-reads it. Its answers keep the badge current.
 */
export class Notifications {
  items = $state.raw<NotificationView[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(true);
  loadingMore = $state(false);
  error = $state<string | null>(null);

  readonly unreadOnly: boolean;
  readonly #live: LiveChannel;
  readonly #inbox: Inbox;
  #release: (() => void)[] = [];
  #readSeq = 0;

  constructor(live: LiveChannel, inbox: Inbox, unreadOnly: boolean) {
    this.#live = live;
    this.#inbox = inbox;
    this.unreadOnly = unreadOnly;
  }

  start(): void {
    this.#release.push(
      this.#live.onNotificationNew(({ notification }) => {
        if (!this.items.some((n) => n.id === notification.id)) this.items = [notification, ...this.items];
      }),
      this.#live.onNotificationRead(({ ids }) => this.#markLocally(ids)),
      this.#live.onResync(() => void this.load()),
    );
    void this.load();
  }

  dispose(): void {
    for (const release of this.#release) release();
    this.#release = [];
    this.#readSeq++;
  }

  async load(): Promise<void> {
    const seq = ++this.#readSeq;
    try {
      const answer = await api<NotificationsPage>(endpoints.notifications({ unread: this.unreadOnly, limit: PAGE_SIZE }));
      if (seq !== this.#readSeq) return;
      this.items = answer.notifications;
      this.nextCursor = answer.nextCursor;
      this.#inbox.unreadCount = answer.unreadCount;
      this.error = null;
    } catch {
      if (seq === this.#readSeq) this.error = 'The inbox could not be loaded.';
    } finally {
      if (seq === this.#readSeq) this.loading = false;
    }
  }

  async loadMore(): Promise<void> {
    const cursor = this.nextCursor;
    if (!cursor || this.loadingMore) return;
    this.loadingMore = true;
    const seq = this.#readSeq;
    try {
      const answer = await api<NotificationsPage>(endpoints.notifications({ unread: this.unreadOnly, limit: PAGE_SIZE, cursor }));
      if (seq !== this.#readSeq) return;
      this.items = appendPage(this.items, answer.notifications, (n) => n.id);
      this.nextCursor = answer.nextCursor;
    } catch {
      this.error = 'More notifications could not be loaded.';
    } finally {
      this.loadingMore = false;
    }
  }

  /** Shown as read at once; the server's `notification:read` push brings the count (to every tab). */
  async markRead(notification: NotificationView): Promise<void> {
    this.#markLocally([notification.id]);
    try {
      await api(endpoints.readNotification(notification.id), { method: 'POST' });
    } catch {
      this.error = 'Marking as read failed; the list was re-read.';
      void this.load();
    }
  }

  async markAllRead(): Promise<void> {
    this.#markLocally('all');
    try {
      await api(endpoints.readAllNotifications(), { method: 'POST' });
    } catch {
      this.error = 'Marking all as read failed; the list was re-read.';
      void this.load();
    }
  }

  #markLocally(ids: string[] | 'all'): void {
    const at = new Date().toISOString();
    const hit = (n: NotificationView) => n.readAt === null && (ids === 'all' || ids.includes(n.id));
    this.items = this.unreadOnly ? this.items.filter((n) => !hit(n)) : this.items.map((n) => (hit(n) ? { ...n, readAt: at } : n));
  }
}
