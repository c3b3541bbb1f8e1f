// server/http/dashboard.ts: the built dashboard mounted behind the API, or a plain "run npm run build" page.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../db/logger.ts';
import { dashboardHandler } from '../../server/http/dashboard.ts';

const logger = createLogger('silent');
const servers: Server[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function serve(buildDir: string): Promise<string> {
  const app = express();
  app.get('/api/ping', (_req, res) => void res.json({ ok: true }));
  app.use(dashboardHandler(logger, buildDir));
  app.use((_req: express.Request, res: express.Response) => void res.status(418).end());
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('dashboard serving', () => {
  it('without a build: / says how to build it, other pages are 404, the API keeps working', async () => {
    const base = await serve(path.join(tmpdir(), 'runboard-no-such-build'));
    const home = await fetch(`${base}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    expect(await home.text()).toContain('npm run build');
    expect((await fetch(`${base}/t/acme/operations`)).status).toBe(404);
    expect(await (await fetch(`${base}/api/ping`)).json()).toEqual({ ok: true });
    // Not a GET: not the dashboard's business.
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(418);
  });

  it('with a build: every non-API request goes to its handler, loaded once', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'runboard-build-'));
    dirs.push(dir);
    await writeFile(
      path.join(dir, 'handler.js'),
      `let loads = (globalThis.__rbLoads = (globalThis.__rbLoads ?? 0) + 1);
       export const handler = (req, res) => { res.setHeader('content-type', 'text/plain'); res.end('kit ' + req.url + ' ' + loads); };`,
    );
    const base = await serve(dir);
    expect(await (await fetch(`${base}/t/acme/operations?bucket=failed`)).text()).toBe('kit /t/acme/operations?bucket=failed 1');
    expect(await (await fetch(`${base}/login`)).text()).toBe('kit /login 1');
    expect(await (await fetch(`${base}/api/ping`)).json()).toEqual({ ok: true });
  });
});
