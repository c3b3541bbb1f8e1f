import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents, SubscribeAck } from '../../server/live/events.ts';
import { checkLiveEvent } from './openapi.ts';

export type LiveClient = Socket<ServerToClientEvents, ClientToServerEvents>;
type EventName = keyof ServerToClientEvents;
type Payload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];

/**
 * A real socket.io-client that records every server event, so tests await what arrives (`next`, `until`)
 * and can prove what did not. Every payload is checked against the AsyncAPI description (tests/helpers/openapi.ts).
 */
export class RecordingClient {
  readonly events: { event: EventName; payload: unknown; at: number }[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  private constructor(readonly socket: LiveClient) {
    socket.onAny((event: EventName, payload: unknown) => {
      checkLiveEvent(event, payload);
      this.events.push({ event, payload, at: Date.now() });
      this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
    });
  }

  /** Connects (websocket only, like production) and resolves once connected; rejects with the connect_error. */
  static async connect(baseUrl: string, options: { token?: string; headers?: Record<string, string>; reconnection?: boolean } = {}): Promise<RecordingClient> {
    const socket: LiveClient = io(baseUrl, {
      path: '/socket.io',
      transports: ['websocket'],
      auth: options.token ? { token: options.token } : {},
      extraHeaders: options.headers ?? {},
      reconnection: options.reconnection ?? false,
      timeout: 10_000,
      forceNew: true,
    });
    const client = new RecordingClient(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connect timed out')), 10_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('connect_error', (error) => {
        clearTimeout(timer);
        socket.close();
        reject(error);
      });
    });
    return client;
  }

  subscribe(tenant: unknown): Promise<SubscribeAck> {
    return this.socket.timeout(10_000).emitWithAck('subscribe', tenant as { tenant: string });
  }

  of<E extends EventName>(event: E): Payload<E>[] {
    return this.events.filter((e) => e.event === event).map((e) => e.payload as Payload<E>);
  }

  until(check: () => boolean, timeoutMs = 15_000, what = 'event'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      this.#waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Resolves when the socket is disconnected by the server (or rejects after the timeout). */
  disconnected(timeoutMs = 10_000): Promise<string> {
    if (!this.socket.connected) return Promise.resolve('already');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not disconnected in time')), timeoutMs);
      this.socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** The connect_error message for a refused handshake. */
export async function refusal(baseUrl: string, options: Parameters<typeof RecordingClient.connect>[1]): Promise<string> {
  try {
    const client = await RecordingClient.connect(baseUrl, options);
    client.close();
    return 'connected';
  } catch (error) {
    return (error as Error).message;
  }
}
