import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per app instance, so tests can run several servers in one process. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'runboard_' });
  return {
    registry,
    httpRequests: new Histogram({
      name: 'runboard_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    live: {
      sockets: new Gauge({
        name: 'runboard_live_sockets',
        help: 'Connected live sockets by credential kind',
        labelNames: ['kind'] as const,
        registers: [registry],
      }),
      subscriptions: new Gauge({
        name: 'runboard_live_subscriptions',
        help: 'Tenant subscriptions held by connected sockets',
        registers: [registry],
      }),
      deliveries: new Counter({
        name: 'runboard_live_deliveries_total',
        help: 'Events delivered to sockets, by event',
        labelNames: ['event'] as const,
        registers: [registry],
      }),
      relayLag: new Histogram({
        name: 'runboard_live_relay_lag_seconds',
        help: 'Time from a committed change being published to its emit by this gateway',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
        registers: [registry],
      }),
      subscriberReconnects: new Counter({
        name: 'runboard_live_subscriber_reconnects_total',
        help: 'Times the changefeed subscription was restored after a Redis outage',
        registers: [registry],
      }),
      refusedHandshakes: new Counter({
        name: 'runboard_live_refused_handshakes_total',
        help: 'Handshakes refused, by reason',
        labelNames: ['reason'] as const,
        registers: [registry],
      }),
      slowClientsDropped: new Counter({
        name: 'runboard_live_slow_clients_disconnected_total',
        help: 'Sockets disconnected because their send buffer grew past the bound',
        registers: [registry],
      }),
    },
    runStarts: new Counter({
      name: 'runboard_run_starts_total',
      help: 'Start requests by result (created, reused, dispatch_failed)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
