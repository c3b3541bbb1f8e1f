// The dashboard on the API's own origin and port (docs/api.md §6): the SvelteKit build (adapter-node's
// handler) mounted after /api. Without a build, the API keeps working and `/` says how to make one.
import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../db/logger.ts';
import { frameAncestorSources, withFrameAncestors } from './security.ts';

export const DASHBOARD_BUILD_DIR = path.resolve(import.meta.dirname, '../../dashboard/build');

type NodeHandler = (req: Request, res: Response, next: NextFunction) => void;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Runboard</title></head>
<body><h1>Runboard</h1>
<p>The dashboard is not built yet. Run <code>npm run build</code> (or start with <code>npm start</code>, which builds it),
then reload this page.</p>
<p>The HTTP API is available under <code>/api</code>.</p>
</body></html>
`;

/**
 * SvelteKit's request handler from `buildDir`, loaded on first use (it initialises the app when imported).
 * The page policy (CSP with per-response nonces) comes from SvelteKit itself, configured in
 * dashboard/vite.config.ts with `frame-ancestors 'none'`; that one directive follows `frameAncestors`
 * (FRAME_ANCESTORS) here, per response. The app-wide security headers are set before this runs.
 */
export function dashboardHandler(logger: Logger, buildDir = DASHBOARD_BUILD_DIR, frameAncestors: readonly string[] = []): RequestHandler {
  const ancestors = frameAncestorSources(frameAncestors);
  const handlerFile = path.join(buildDir, 'handler.js');
  if (!existsSync(handlerFile)) {
    logger.warn({ buildDir }, 'dashboard not built: run `npm run build`; serving the API only');
    return (req, res, next) => {
      framedBy(res, ancestors);
      notBuilt(req, res, next);
    };
  }
  let loading: Promise<NodeHandler> | undefined;
  const load = () =>
    (loading ??= import(pathToFileURL(handlerFile).href).then((module: { handler: NodeHandler }) => module.handler));
  return (req, res, next) => {
    load().then(
      (handler) => {
        framedBy(res, ancestors);
        handler(req, res, next);
      },
      (error: unknown) => {
        loading = undefined;
        logger.error({ err: (error as Error)?.message }, 'dashboard handler could not be loaded');
        next(error);
      },
    );
  };
}

/**
 * Rewrites the frame-ancestors directive of whatever Content-Security-Policy this response is given. SvelteKit
 * sets its page policy with setHeader, replacing the default one (so each answer carries exactly one policy);
 * a header object given to writeHead goes through setHeader too once any header is set, as ours always are.
 */
function framedBy(res: ServerResponse, sources: readonly string[]): void {
  const setHeader = res.setHeader;
  res.setHeader = function (name, value) {
    const policy = name.toLowerCase() === 'content-security-policy' && typeof value === 'string';
    return setHeader.call(this, name, policy ? withFrameAncestors(value, sources) : value);
  };
}

function notBuilt(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return next();
  res
    .status(req.path === '/' ? 200 : 404)
    .type('html')
    .setHeader('Cache-Control', 'no-store')
    .setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'")
    .send(NOT_BUILT);
}
