// Chaos: the worker driving a restore is SIGKILLed while the policy source holds one of its writes.
// docs/api.md §1 (worker loss) and §10 (restores): the restore's run does not stay running — it ends
// failed/worker_lost within RUN_STALL_TIMEOUT_MS plus a sweep, its initiator is told — and the restore does not
// stay executing: it ends failed. The job, redelivered to the surviving worker, writes nothing again.
// The source is a `graph` one served here, so every PATCH a worker process sends is seen and counted.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queuePrefix } from '../../db/changefeed/channels.ts';
import { call, ChangefeedRecorder, login, spawnWorker, startApp, type RunningApp, type WorkerProcess } from '../helpers/app.ts';
import { createTestEnv, seedTenant, type Seeded, type TestEnv } from '../helpers/stack.ts';

const STALL_TIMEOUT_MS = 2_000;
/** The worker sweeps every stall timeout / 4 (worker/worker.ts). */
const SWEEP_MS = STALL_TIMEOUT_MS / 4;
/** Slack on top of the contract's bound for a loaded 2-core machine; the measured figure is printed. */
const SLACK_MS = 10_000;
const COLLECTION = 'deviceManagement/deviceConfigurations';
const TYPE = '#microsoft.graph.windows10GeneralConfiguration';

type Policy = { id: string; displayName: string; '@odata.type': string; [setting: string]: unknown };

/** A Graph-format policy API: lists and reads its policies, counts PATCHes and can hold one unanswered. */
class GraphDouble {
  readonly policies = new Map<string, Policy>();
  readonly patches: string[] = [];
  holdPatches = false;
  #onPatch: (() => void) | null = null;
  #held: ServerResponse[] = [];
  private server: Server | undefined;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves when the next PATCH arrives. */
  nextPatch(): Promise<void> {
    return new Promise((resolve) => (this.#onPatch = resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\//, '');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'GET' && path === COLLECTION) return json(200, { value: [...this.policies.values()] });
      const id = path.startsWith(`${COLLECTION}/`) ? path.slice(COLLECTION.length + 1) : '';
      const policy = this.policies.get(id);
      if (!policy) return json(404, { error: { code: 'ResourceNotFound' } });
      if (req.method === 'GET') return json(200, policy);
      if (req.method === 'PATCH') {
        this.patches.push(id);
        this.#onPatch?.();
        this.#onPatch = null;
        if (this.holdPatches) return void this.#held.push(res);
        Object.assign(policy, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        return res.writeHead(204).end();
      }
      json(405, { error: { code: 'MethodNotAllowed' } });
    });
  }

  async close(): Promise<void> {
    for (const res of this.#held) res.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

describe('chaos: the worker driving a restore is SIGKILLed mid-write', () => {
  let env: TestEnv;
  let acme: Seeded;
  let app: RunningApp;
  let feed: ChangefeedRecorder;
  let doomed: WorkerProcess;
  let survivor: WorkerProcess | undefined;
  const graph = new GraphDouble();

  beforeAll(async () => {
    // The held write must outlast starting the second worker: a long source timeout.
    env = await createTestEnv({ RUN_STALL_TIMEOUT_MS: String(STALL_TIMEOUT_MS), ALLOW_PRIVATE_TARGETS: 'true', SOURCE_TIMEOUT_MS: '60000' });
    acme = await seedTenant(env.services, 'acme');
    await graph.start();
    for (let i = 1; i <= 3; i++) {
      graph.policies.set(`policy-${i}`, { id: `policy-${i}`, displayName: `Device restrictions ${i}`, '@odata.type': TYPE, cameraBlocked: false, passwordMinimumLength: 8 + i });
    }
    await env.services.sources.set(acme.tenant.id, null, { kind: 'graph', baseUrl: graph.baseUrl, collections: [COLLECTION] });
    [app, feed, doomed] = await Promise.all([startApp(env), ChangefeedRecorder.start(env), spawnWorker(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled([doomed?.kill(), survivor?.stop()]);
    await feed?.close();
    await app?.close();
    await graph.close();
    await env?.cleanup();
  }, 60_000);

  it('the run ends failed/worker_lost, the restore failed (not executing), and nothing is written twice', async () => {
    const [operator, manager] = await Promise.all([login(app.baseUrl, acme.users.operator.email), login(app.baseUrl, acme.users.manager.email)]);
    const api = (method: string, path: string, token: string, body?: unknown) =>
      call(app.baseUrl, method, `/api/tenants/acme${path}`, { token, ...(body !== undefined ? { body } : {}) });
    const run = async (type: string, scope: Record<string, unknown>) => {
      const started = await api('POST', '/runs', operator, { type, scope });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      return (await feed.completed(started.body.run.id)).run;
    };

    // Back up the three policies, then they drift at the source and are synced again: three updates to restore.
    expect(await run('inventory.sync', {})).toMatchObject({ outcome: 'succeeded' });
    const set = (await api('POST', '/backup-sets', operator, { name: 'Before the change' })).body.backupSet;
    expect(await run('backup_set.add_policies', { backupSetId: set.id, policyIds: [...graph.policies.keys()] })).toMatchObject({ outcome: 'succeeded' });
    for (const policy of graph.policies.values()) policy.cameraBlocked = true;
    expect(await run('inventory.sync', {})).toMatchObject({ outcome: 'succeeded' });
    const restore = (await api('POST', '/restores', manager, { backupSetId: set.id })).body.restore;
    const preview = await api('POST', `/restores/${restore.id}/preview`, manager);
    expect(preview.body.restore.counts).toEqual({ create: 0, update: 3, unchanged: 0 });
    const runId: string = preview.body.restore.runId;

    // The source takes the first write and never answers it; the worker is killed while it waits.
    graph.holdPatches = true;
    const firstPatch = graph.nextPatch();
    expect((await api('POST', `/restores/${restore.id}/execute`, manager)).status).toBe(200);
    await firstPatch;
    survivor = await spawnWorker(env);
    // Still running: the held write is heartbeated, so the survivor's sweep leaves it alone.
    expect((await api('GET', `/runs/${runId}`, manager)).body.run).toMatchObject({ status: 'running' });
    await doomed.kill();
    const killedAt = Date.now();

    const ended = await feed.completed(runId, STALL_TIMEOUT_MS + SWEEP_MS + SLACK_MS);
    const detectedMs = Date.now() - killedAt;
    expect(ended.run).toMatchObject({ status: 'completed', outcome: 'failed', counts: { total: 3, succeeded: 0 } });
    const detail = (await api('GET', `/runs/${runId}`, manager)).body.run;
    expect(detail.failures.at(-1)).toMatchObject({ code: 'worker_lost' });
    expect(detectedMs, 'kill → worker_lost (ms)').toBeLessThanOrEqual(STALL_TIMEOUT_MS + SWEEP_MS + SLACK_MS);

    // The restore does not stay executing.
    const after = (await api('GET', `/restores/${restore.id}`, manager)).body.restore;
    expect(after.status).toBe('failed');
    expect(after.items.map((i: { result: string | null }) => i.result)).toEqual([null, null, null]);

    // bee-queue redelivers the dead worker's job to the survivor; its driver finds the run ended and writes
    // nothing. Wait until that job is gone from the queue (processed), then count the writes.
    graph.holdPatches = false;
    const redis = createClient({ url: env.config.redisUrl });
    await redis.connect();
    try {
      const jobs = `${queuePrefix(env.config.redisPrefix)}:runs:jobs`;
      const deadline = Date.now() + 30_000;
      while ((await redis.hExists(jobs, runId)) === 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await redis.hExists(jobs, runId), 'the redelivered job was processed').toBe(0);
    } finally {
      await redis.close();
    }
    expect(graph.patches, 'PATCHes the source received').toHaveLength(1);
    expect((await api('GET', `/restores/${restore.id}`, manager)).body.restore.status).toBe('failed');
    expect((await api('GET', `/runs/${runId}`, manager)).body.run.version).toBe(detail.version);

    // Its initiator (the previewing manager) is told, as for every lost run.
    await feed.until(
      () => feed.users.some((u) => u.type === 'notification:new' && u.notification.runId === runId && u.notification.level === 'danger'),
      10_000,
      'the danger notification',
    );
    const told = feed.users.find((u) => u.type === 'notification:new' && u.notification.runId === runId && u.notification.level === 'danger')!;
    expect(told.userId).toBe(acme.users.manager.id);
    expect(survivor.child.exitCode).toBeNull();
    console.log(`[chaos] restore worker SIGKILL: run ended failed/worker_lost ${detectedMs} ms after the kill (stall timeout ${STALL_TIMEOUT_MS} ms + sweep ${SWEEP_MS} ms); restore failed; 1 PATCH in all`);
  }, 120_000);
});
