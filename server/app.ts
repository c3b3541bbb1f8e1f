import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import cookieParser from 'cookie-parser';
import express from 'express';
import type { Services } from '../db/services.ts';
import { authenticate, originGuard } from './http/auth.ts';
import { DASHBOARD_BUILD_DIR, dashboardHandler } from './http/dashboard.ts';
import { errorHandler, notFoundHandler } from './http/errors.ts';
import { LoginLimiter } from './http/login-limiter.ts';
import { apiDescriptionRoutes } from './http/routes/api-description.ts';
import { authRoutes, meRoutes } from './http/routes/auth.ts';
import { healthRoutes } from './http/routes/health.ts';
import { kioskTokenRoutes } from './http/routes/kiosk-tokens.ts';
import { notificationRoutes } from './http/routes/notifications.ts';
import { overviewRoutes } from './http/routes/overview.ts';
import { tenantRoutes } from './http/routes/tenants.ts';
import { rawHeaderLines, securityHeaders } from './http/security.ts';
import { attachGateway, type Gateway } from './live/gateway.ts';
import { createMetrics, type Metrics } from './metrics.ts';

export type App = {
  app: express.Express;
  httpServer: Server;
  gateway: Gateway;
  metrics: Metrics;
  /** Resolves once the live relay is subscribed to the changefeed (listen after this). */
  ready: Promise<void>;
  close: () => Promise<void>;
};

export const BODY_LIMIT = '64kb';

/**
 * Requests Node cannot even parse (a request head over 16 KB, malformed HTTP) still get the contract's error
 * shape rather than a bare status line; a connection that is already gone is just closed.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, securityHeaderLines: string): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const [status, reason, code, message] = tooLarge
    ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'The request line or headers are too large.']
    : [400, 'Bad Request', 'validation_failed', 'The request could not be read.'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${securityHeaderLines}Connection: close\r\n\r\n${body}`,
  );
}

/** The HTTP API and the live gateway on one http.Server. Listening is the caller's. */
export function createApp(services: Services): App {
  const { config, logger } = services;
  const metrics = createMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');
  // First: every answer carries the security headers (docs/api.md §13), Socket.IO's too (below).
  const security = securityHeaders({ frameAncestors: config.frameAncestors, trustProxy: app.get('trust proxy fn') });
  app.use(security);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    next();
  });

  app.use(healthRoutes(services, metrics));

  const api = express.Router();
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.use(express.json({ limit: BODY_LIMIT, strict: true, type: ['application/json', 'application/*+json'] }));
  api.use(cookieParser());
  const limiter = new LoginLimiter(services.redis, config.redisPrefix, {
    maxFailures: config.loginMaxFailures,
    windowSeconds: config.loginWindowSeconds,
  }, logger);
  api.use('/auth', originGuard(config.allowedOrigins), authRoutes(services, limiter));
  const authed = express.Router();
  authed.use(authenticate(services.auth), originGuard(config.allowedOrigins));
  authed.use('/me', meRoutes(services));
  authed.use('/notifications', notificationRoutes(services));
  authed.use('/overview', overviewRoutes(services));
  authed.use('/kiosk-tokens', kioskTokenRoutes(services));
  authed.use('/tenants/:tenant', tenantRoutes(services, metrics));
  api.use(apiDescriptionRoutes());
  api.use(authed);
  api.use(notFoundHandler);
  app.use('/api', api);
  // Everything else is the dashboard (same origin and port as the API and the live channel).
  app.use(dashboardHandler(logger, DASHBOARD_BUILD_DIR, config.frameAncestors));
  app.use(errorHandler(logger));

  const httpServer = createServer(app);
  const securityHeaderLines = rawHeaderLines(security);
  httpServer.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, securityHeaderLines));
  httpServer.headersTimeout = 20_000;
  httpServer.requestTimeout = 30_000;
  // Idle keep-alive connections outlive those of the client in front (proxies keep theirs 60 s to 2 min):
  // when the server closes first, a request the client sends on that connection at that moment fails with
  // "other side closed" (seen in CI; the classic 502 behind load balancers).
  httpServer.keepAliveTimeout = 130_000;

  const gateway = attachGateway(httpServer, services, metrics);
  // Socket.IO answers /socket.io itself, before Express: its handshakes and refusals get the headers here.
  gateway.io.engine.use(security);

  return {
    app,
    httpServer,
    gateway,
    metrics,
    ready: gateway.ready,
    // In-flight requests finish; live sockets are told to go (clients reconnect to another node).
    close: async () => {
      const closed = new Promise<void>((resolve) => {
        if (!httpServer.listening) return resolve();
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
      });
      await gateway.close();
      await closed;
    },
  };
}
