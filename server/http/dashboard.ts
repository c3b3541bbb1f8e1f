// The dashboard on the API's own origin and port (docs/api.md §6): the SvelteKit build (adapter-node's
// handler) mounted after /api. Without a build, the API keeps working and `/` says how to make one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../db/logger.ts';

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
 * dashboard/vite.config.ts; the app-wide security headers are set before this runs.
 */
export function dashboardHandler(logger: Logger, buildDir = DASHBOARD_BUILD_DIR): RequestHandler {
  const handlerFile = path.join(buildDir, 'handler.js');
  if (!existsSync(handlerFile)) {
    logger.warn({ buildDir }, 'dashboard not built: run `npm run build`; serving the API only');
    return notBuilt;
  }
  let loading: Promise<NodeHandler> | undefined;
  const load = () =>
    (loading ??= import(pathToFileURL(handlerFile).href).then((module: { handler: NodeHandler }) => module.handler));
  return (req, res, next) => {
    load().then(
      (handler) => handler(req, res, next),
      (error: unknown) => {
        loading = undefined;
        logger.error({ err: (error as Error)?.message }, 'dashboard handler could not be loaded');
        next(error);
      },
    );
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
