// The live channel as the dashboard holds it (docs/api.md §4): one socket per page, reconnecting forever with
// backoff, tenant subscriptions that survive reconnects, and one signal for "re-read what you show" after
// every (re)connect and every `resync`. Views register listeners; the merge rules live in runs-store.ts.
import { io, type Socket } from 'socket.io-client';
import {
  LIVE_PATH,
  type ClientToServerEvents,
  type NotificationNewPayload,
  type NotificationReadPayload,
  type RunUpdatePayload,
  type ServerToClientEvents,
  type SubscribeAck,
} from '../../../server/live/events.ts';

/**
 * connecting: the first connection, nothing lost yet; live: connected and subscribed; reconnecting: a live
 * connection was lost and is being retried; offline: no network, refused, or without a connection a while.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** After this long without a connection the state says "offline" rather than "reconnecting". */
export const OFFLINE_AFTER_MS = 15_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type Listener<T> = (payload: T) => void;

export type LiveOptions = {
  /** A kiosk token (the wall); without it the session cookie authenticates the handshake. */
  token?: string | null;
  /** The handshake was refused as unauthorized (signed out, expired or revoked). */
  onUnauthorized?: () => void;
};

export class LiveChannel {
  state = $state<ConnectionState>('connecting');
  /**
   * When a live connection was lost (epoch ms): null while live, and before the first connect, when nothing
   * shown can have been missed yet (the first read is under way).
   */
  downSince = $state<number | null>(null);
  /** Last moment a live message or a (re)connect proved the channel current. */
  lastMessageAt = $state<number | null>(null);
  /** Why the server refused the handshake or a subscription, if it did (`unauthorized`, `forbidden`, …). */
  refusal = $state<string | null>(null);
  /**
   * Tenants whose subscription the server refused (or did not answer), with why and when; a tenant leaves once a
   * subscription succeeds or no view wants it. A screen of many tenants marks just the tiles whose updates stopped.
   */
  refusedTenants = $state.raw<ReadonlyMap<string, { error: string; at: number }>>(new Map());

  readonly #socket: LiveSocket;
  readonly #options: LiveOptions;
  /** Tenant → number of views that want it. */
  readonly #tenants = new Map<string, number>();
  readonly #resync = new Set<() => void>();
  readonly #subscribed = new Set<(tenant: string) => void>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #offlineTimer: ReturnType<typeof setTimeout> | undefined;
  #retries = 0;
  #stopped = false;
  /** Since when there has been no connection: the loss, or the first attempt (for the offline timer). */
  #waitingSince = Date.now();
  #everLive = false;

  constructor(options: LiveOptions = {}) {
    this.#options = options;
    this.#socket = io({
      path: LIVE_PATH,
      transports: ['websocket'],
      autoConnect: false,
      ...(options.token ? { auth: { token: options.token } } : {}),
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: RETRY_MIN_MS,
      reconnectionDelayMax: RETRY_MAX_MS,
      randomizationFactor: 0.5,
      timeout: 10_000,
    });
    const socket = this.#socket;
    socket.on('connect', () => void this.#onConnect());
    socket.on('disconnect', (reason) => {
      this.#down();
      // The server sent us away (shutdown, deploy, revoked token): Socket.IO does not retry that by itself.
      if (reason === 'io server disconnect') this.#retry();
    });
    socket.on('connect_error', (error) => {
      this.#down();
      if (socket.active) return; // a transport failure: the manager retries with its own backoff
      // The server refused the handshake: it will not be retried automatically.
      this.refusal = error.message;
      if (error.message === 'unauthorized') {
        this.state = 'offline';
        this.#options.onUnauthorized?.();
      }
      this.#retry();
    });
    socket.on('resync', () => {
      this.lastMessageAt = Date.now();
      this.#emitResync();
    });
    socket.onAny(() => {
      this.lastMessageAt = Date.now();
    });
  }

  start(): void {
    this.#waitingSince = Date.now();
    if (typeof window !== 'undefined') {
      window.addEventListener('online', this.#online);
      window.addEventListener('offline', this.#offline);
      if (!navigator.onLine) this.state = 'offline';
    }
    this.#socket.connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#offlineTimer);
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.#online);
      window.removeEventListener('offline', this.#offline);
    }
    this.#socket.removeAllListeners();
    this.#socket.disconnect();
    this.#resync.clear();
    this.#subscribed.clear();
  }

  /** Join a tenant's room for as long as the returned function is not called; kept across reconnects. */
  watchTenant(tenant: string): () => void {
    const count = this.#tenants.get(tenant) ?? 0;
    this.#tenants.set(tenant, count + 1);
    if (count === 0 && this.#socket.connected) void this.#subscribe(tenant, true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#tenants.get(tenant) ?? 1) - 1;
      if (left > 0) return void this.#tenants.set(tenant, left);
      this.#tenants.delete(tenant);
      this.#setRefusal(tenant, null);
      if (this.#socket.connected) this.#socket.emit('unsubscribe', { tenant });
    };
  }

  /**
   * Called after every (re)connect, once subscriptions are back, and on every `resync`: re-read from the
   * HTTP API whatever is shown, since pushes may have been missed.
   */
  onResync(listener: () => void): () => void {
    this.#resync.add(listener);
    return () => this.#resync.delete(listener);
  }

  /**
   * Called when a tenant's room is joined outside a (re)connect (a view that started watching it while live, a
   * retry after a refusal): pushes before that moment were not received, so whoever shows it re-reads it. The
   * subscriptions of a (re)connect are followed by `onResync` instead.
   */
  onSubscribed(listener: (tenant: string) => void): () => void {
    this.#subscribed.add(listener);
    return () => this.#subscribed.delete(listener);
  }

  onRunUpdate(listener: Listener<RunUpdatePayload>): () => void {
    this.#socket.on('run:update', listener);
    return () => void this.#socket.off('run:update', listener);
  }

  onNotificationNew(listener: Listener<NotificationNewPayload>): () => void {
    this.#socket.on('notification:new', listener);
    return () => void this.#socket.off('notification:new', listener);
  }

  onNotificationRead(listener: Listener<NotificationReadPayload>): () => void {
    this.#socket.on('notification:read', listener);
    return () => void this.#socket.off('notification:read', listener);
  }

  /** Try now (a "Reconnect" button, or the browser coming back online). */
  reconnectNow(): void {
    if (this.#stopped || this.#socket.connected) return;
    clearTimeout(this.#retryTimer);
    this.#retries = 0;
    // Cut short a pending backoff of the Socket.IO manager as well: disconnect stops it, connect opens now.
    if (this.#socket.active) this.#socket.disconnect();
    this.#socket.connect();
  }

  async #onConnect(): Promise<void> {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#offlineTimer);
    this.#retries = 0;
    this.refusal = null;
    await Promise.all([...this.#tenants.keys()].map((tenant) => this.#subscribe(tenant)));
    if (!this.#socket.connected) return;
    this.state = 'live';
    this.#everLive = true;
    this.downSince = null;
    this.lastMessageAt = Date.now();
    this.#emitResync();
  }

  /** `alone`: not part of a (re)connect, whose resync follows the subscriptions anyway. */
  async #subscribe(tenant: string, alone = false): Promise<void> {
    const answer = await new Promise<SubscribeAck | null>((resolve) => {
      this.#socket.timeout(10_000).emit('subscribe', { tenant }, (error: Error | null, ack: SubscribeAck) => {
        resolve(error ? null : ack);
      });
    });
    // No longer wanted, or the connection went while waiting: the next connect subscribes again anyway.
    if (!this.#tenants.has(tenant) || (!answer && !this.#socket.connected)) return;
    if (answer?.ok) {
      this.#setRefusal(tenant, null);
      if (alone) for (const listener of this.#subscribed) listener(tenant);
      return;
    }
    this.refusal = answer ? answer.error : 'timeout';
    this.#setRefusal(tenant, this.refusal);
    // Rate limits, a database hiccup or a lost ack pass: try again a little later while the view wants it.
    if (answer?.error !== 'forbidden' && answer?.error !== 'invalid') {
      setTimeout(() => {
        if (this.#tenants.has(tenant) && this.#socket.connected) void this.#subscribe(tenant, true);
      }, 5_000);
    }
  }

  #setRefusal(tenant: string, error: string | null): void {
    const known = this.refusedTenants.get(tenant);
    if (error === null ? !known : known?.error === error) return;
    const next = new Map(this.refusedTenants);
    if (error === null) next.delete(tenant);
    else next.set(tenant, { error, at: Date.now() });
    this.refusedTenants = next;
  }

  #emitResync(): void {
    for (const listener of this.#resync) listener();
  }

  #down(): void {
    if (this.state === 'live') {
      this.state = 'reconnecting';
      this.downSince = this.#waitingSince = Date.now();
    }
    if (typeof navigator !== 'undefined' && !navigator.onLine) this.state = 'offline';
    clearTimeout(this.#offlineTimer);
    const since = this.#waitingSince;
    this.#offlineTimer = setTimeout(
      () => {
        if (!this.#socket.connected) this.state = 'offline';
      },
      Math.max(0, since + OFFLINE_AFTER_MS - Date.now()),
    );
  }

  /** Our own backoff for the cases Socket.IO leaves to us (refused handshake, server-side disconnect). */
  #retry(): void {
    if (this.#stopped) return;
    clearTimeout(this.#retryTimer);
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.#retries++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#retryTimer = setTimeout(() => {
      if (!this.#stopped && !this.#socket.connected && !this.#socket.active) this.#socket.connect();
    }, delay);
  }

  #online = () => {
    if (this.#socket.connected) {
      // The socket outlived the outage; pushes may still have been lost meanwhile.
      this.state = 'live';
      this.downSince = null;
      this.#emitResync();
      return;
    }
    if (this.state === 'offline') this.state = this.#everLive ? 'reconnecting' : 'connecting';
    this.reconnectNow();
  };

  #offline = () => {
    this.#down();
    this.state = 'offline';
    // The browser says the network is gone: drop the socket now instead of waiting for a ping timeout
    // (tens of seconds of a connection that only looks alive); 'online' or the backoff brings it back.
    if (this.#socket.connected || this.#socket.active) this.#socket.disconnect();
    this.#retry();
  };
}
