// Security headers on every answer, pages and API alike (docs/api.md §13), set by helmet before anything else
// runs: Express's routes and the dashboard, and Socket.IO's own HTTP answers under /socket.io.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import helmet from 'helmet';

export type SecurityMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** Express's compiled `trust proxy` setting: whether the peer at `address` is a proxy we believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

/** One year: browsers keep to HTTPS for that long after each answer that carries the header. */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** The frame-ancestors sources: the configured origins (FRAME_ANCESTORS), or none at all. */
export function frameAncestorSources(origins: readonly string[]): string[] {
  return origins.length > 0 ? [...origins] : ["'none'"];
}

/** `policy` (a Content-Security-Policy value) with its frame-ancestors directive set to `sources`. */
export function withFrameAncestors(policy: string, sources: readonly string[]): string {
  const others = policy
    .split(';')
    .map((directive) => directive.trim())
    .filter((directive) => directive !== '' && !/^frame-ancestors(\s|$)/i.test(directive));
  return [...others, `frame-ancestors ${sources.join(' ')}`].join('; ');
}

/**
 * Express's `req.secure` for any request, Socket.IO's included (Express never sees those): TLS on this socket,
 * unless a trusted proxy ('trust proxy' is loopback) says otherwise in X-Forwarded-Proto. A client that is not
 * a trusted proxy cannot claim HTTPS with the header.
 */
export function cameOverHttps(req: IncomingMessage, trustProxy: TrustProxy): boolean {
  const own = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const peer = req.socket.remoteAddress;
  if (!peer || !trustProxy(peer, 0)) return own === 'https';
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded) || own;
  return proto.split(',')[0]!.trim() === 'https';
}

/**
 * The headers of every answer. Dashboard pages replace the Content-Security-Policy with SvelteKit's nonce
 * policy (server/http/dashboard.ts), and the API reference page with its own; every other answer (JSON,
 * errors, /metrics, static files, Socket.IO's) keeps this one, which allows nothing to load or to frame it.
 */
export function securityHeaders(options: { frameAncestors: readonly string[]; trustProxy: TrustProxy }): SecurityMiddleware {
  const ancestors = frameAncestorSources(options.frameAncestors);
  // X-Frame-Options cannot list origins: with framing origins configured, CSP frame-ancestors alone decides
  // (every browser that honours X-Frame-Options also honours it). 'self' alone is still expressible.
  const sameOriginOnly = ancestors.length === 1 && ancestors[0] === "'self'";
  const framing = options.frameAncestors.length === 0 ? { action: 'deny' as const } : sameOriginOnly ? { action: 'sameorigin' as const } : false;
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ancestors } },
    // Same-origin app: no other site needs a window handle on it or to load its responses.
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // Kiosk links carry their token in the URL: never in a Referer to another site.
    referrerPolicy: { policy: 'same-origin' },
    // Only over HTTPS, below; over plain HTTP browsers ignore it, and it would be wrong to claim.
    strictTransportSecurity: false,
    xFrameOptions: framing,
  });
  // No includeSubDomains: this server cannot know whether sibling hosts serve HTTPS (a proxy may add it).
  const hsts = helmet.strictTransportSecurity({ maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: false });
  return (req, res, next) => {
    headers(req, res, (error) => {
      if (error) return next(error);
      if (cameOverHttps(req, options.trustProxy)) hsts(req, res, next);
      else next();
    });
  };
}

/**
 * The same headers as raw header lines (`Name: value\r\n…`), for the few answers written straight to the
 * socket (requests Node cannot parse): recorded once from the middleware for a plain-HTTP request.
 */
export function rawHeaderLines(middleware: SecurityMiddleware): string {
  const recorded = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: unknown) => void recorded.set(name, String(value)),
    removeHeader: (name: string) => void recorded.delete(name),
    getHeader: (name: string) => recorded.get(name),
  };
  const request = { headers: {}, socket: { remoteAddress: '' } };
  middleware(request as unknown as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return [...recorded].map(([name, value]) => `${name}: ${value}\r\n`).join('');
}
