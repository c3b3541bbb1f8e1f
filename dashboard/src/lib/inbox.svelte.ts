// The unread badge everywhere (CONTRACT §5): read once, then kept by `notification:new` / `notification:read`
// pushes (which carry the count, so every tab agrees), and re-read after reconnects and `resync`.
import type { NotificationNewPayload, NotificationReadPayload } from '../../../server/live/events.ts';
import { api, endpoints, type NotificationsPage } from './api.ts';
import type { LiveChannel } from './live.svelte.ts';

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
