import { chromium, type Browser, type BrowserContext, type Page, type WebSocketRoute } from 'playwright-core';

/** Debian's Chromium, headless; never a downloaded browser. Flags keep it off the (closed) network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    timeout: 30_000,
  });
}

/**
 * A fresh context (own cookies) at 1280×720, with bounded default timeouts. `bypassCSP` only for pages that
 * inject a script of the test's own (axe-core, see axe.ts): every other test runs under the dashboard's CSP.
 */
export async function newPage(
  browser: Browser,
  options: { viewport?: { width: number; height: number }; bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 720 }, bypassCSP: options.bypassCSP ?? false });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the login form, the way a person does. */
export async function signIn(page: Page, baseUrl: string, email: string, password: string, next = '/'): Promise<void> {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(/email/i).fill(email);
  await page.getByLabel(/password/i).fill(password);
  await page.getByRole('button', { name: /sign in/i }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/**
 * Holds the live channel's WebSocket handshakes back while `held`: the page's socket opens but hears nothing
 * from the server (as on a slow network) until `release`. `cut` closes every open live socket and holds the
 * reconnects: a connection that was up, lost. `refuse` answers the page's `subscribe` to one tenant with a
 * refusal in the gateway's own words (as a gateway whose database is down does) until `allow`; every other
 * frame passes both ways untouched.
 */
export class LiveGate {
  #held = true;
  #waiting: WebSocketRoute[] = [];
  #open: WebSocketRoute[] = [];
  readonly #refusals = new Map<string, string>();

  static async on(context: BrowserContext): Promise<LiveGate> {
    const gate = new LiveGate();
    await context.routeWebSocket(/\/socket\.io\//, (ws) => {
      if (gate.#held) gate.#waiting.push(ws);
      else gate.#connect(ws);
    });
    return gate;
  }

  release(): void {
    this.#held = false;
    for (const ws of this.#waiting.splice(0)) this.#connect(ws);
  }

  async cut(): Promise<void> {
    this.#held = true;
    await Promise.all(this.#open.splice(0).map((ws) => ws.close({ code: 1001, reason: 'cut by the test' })));
  }

  refuse(tenant: string, error: 'unavailable' | 'rate_limited' | 'forbidden'): void {
    this.#refusals.set(tenant, error);
  }

  allow(tenant: string): void {
    this.#refusals.delete(tenant);
  }

  #connect(ws: WebSocketRoute): void {
    const server = ws.connectToServer();
    ws.onMessage((frame) => {
      const refusal = typeof frame === 'string' ? this.#refusalOf(frame) : null;
      if (refusal) ws.send(refusal);
      else server.send(frame);
    });
    this.#open.push(ws);
  }

  /** The Socket.IO ack frame (`43<id>[answer]`) refusing a `42<id>["subscribe",{tenant}]` frame, if refused. */
  #refusalOf(frame: string): string | null {
    const emit = /^42(\d+)\["subscribe",(\{.*\})\]$/.exec(frame);
    if (!emit) return null;
    const { tenant } = JSON.parse(emit[2]!) as { tenant?: unknown };
    const error = typeof tenant === 'string' ? this.#refusals.get(tenant) : undefined;
    return error ? `43${emit[1]}${JSON.stringify([{ ok: false, error }])}` : null;
  }
}
