import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { createLogger } from '../../db/logger.ts';
import { createOrm } from '../../db/orm.ts';
import { createServices } from '../../db/services.ts';
import { createApp } from '../../server/app.ts';
import type { ApiResponse, RunningApp } from './app.ts';
import type { TestEnv } from './stack.ts';

/**
 * A second server process in all but name: its own ORM pool, Redis connections and Express app, sharing
 * only the test's database and Redis prefix with `env` — like two `npm run server` behind a balancer.
 */
export async function startSecondInstance(env: TestEnv): Promise<RunningApp> {
  const orm = await createOrm({ databaseUrl: env.env.DATABASE_URL!, poolMax: 5 });
  const services = await createServices(env.config, orm, createLogger('silent'), { isWorker: false });
  const app = createApp(services);
  // Like startApp: listen only once the app says it is ready (when it has such a signal).
  await (app as Partial<{ ready: Promise<void> }>).ready;
  await new Promise<void>((resolve) => app.httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = app.httpServer.address() as AddressInfo;
  return {
    ...app,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await services.close();
      await orm.close();
    },
  };
}

/**
 * Asserts the contract's error answer: the status, and a body that is exactly `{ error: { code, message } }`
 * (plus `details` for validation errors) with a human message and no stack trace.
 */
export function expectError(response: ApiResponse, status: number, code: string, what = ''): void {
  const label = `${what} → ${response.status} ${JSON.stringify(response.body)}`;
  expect(response.status, label).toBe(status);
  expect(response.headers.get('content-type') ?? '', label).toMatch(/^application\/json/);
  const shape = code === 'validation_failed'
    ? { error: { code, message: expect.any(String), details: expect.any(Array) } }
    : { error: { code, message: expect.any(String) } };
  expect(response.body, label).toEqual(shape);
  const message = (response.body as { error: { message: string } }).error.message;
  expect(message.length, label).toBeGreaterThan(0);
  expect(message, label).not.toMatch(/\bat .+:\d+:\d+|Error:/);
}
