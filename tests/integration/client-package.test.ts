import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as ClientPackage from '../../clients/src/index.ts';
import { call, login, ROOT, startSystem, type System } from '../helpers/app.ts';
import { checkResponse } from '../helpers/openapi.ts';
import type { Seeded } from '../helpers/stack.ts';

// @runboard/client (clients/) as its users get it: built with its own tsconfig, packed with npm, unpacked into a
// project's node_modules, and its BUILT JavaScript imported by package name, against a running Runboard with a
// worker. The types it is built from are checked against the contract in tests/unit/client-types.test.ts.

const run = promisify(execFile);
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const LABEL = 'client package';

type Attempt = { method: string; path: string; status: number | 'network_error'; body: Record<string, unknown> | null };
type Fault = 'lose-answer' | 'network' | { status: number; retryAfter?: string } | null;

/**
 * A `fetch` that records every attempt and can fail some: `lose-answer` lets the server apply the request and then
 * drops its answer; `network` fails before sending; a status answers that instead. Real answers are checked
 * against the API description, like every answer of the suites.
 */
function recordingFetch(fault: (attempt: Attempt, index: number) => Fault = () => null) {
  const attempts: Attempt[] = [];
  const recorded: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const attempt: Attempt = {
      method: init?.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      status: 'network_error',
      body: typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : null,
    };
    attempts.push(attempt);
    const failure = fault(attempt, attempts.length - 1);
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure && failure !== 'lose-answer') {
      attempt.status = failure.status;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter;
      const code = failure.status === 429 ? 'rate_limited' : failure.status === 503 ? 'unavailable' : 'internal_error';
      return new Response(JSON.stringify({ error: { code, message: 'injected' } }), { status: failure.status, headers });
    }
    const response = await fetch(input, init);
    attempt.status = response.status;
    const text = await response.clone().text();
    checkResponse(attempt.method, url.href, response.status, text ? JSON.parse(text) : null, response.headers);
    if (failure === 'lose-answer') {
      attempt.status = 'network_error';
      throw new TypeError('fetch failed: the connection closed before the answer');
    }
    return response;
  };
  return { fetch: recorded, attempts };
}

describe('the @runboard/client package', () => {
  let work: string;
  let packed: string[];
  let installed: string;
  let runboard: typeof ClientPackage;
  let system: System;
  let acme: Seeded;
  let baseUrl: string;
  let owner: string;
  let operator: string;
  let integration: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'runboard-client-'));
    const build = (async () => {
      // A copy of clients/ (without a dist/ a developer may have built) is the package directory: built there by
      // its own tsconfig alone, which also proves that nothing in it reaches outside the package.
      const pkg = join(work, 'package');
      cpSync(join(ROOT, 'clients'), pkg, { recursive: true, filter: (source) => !/[\\/](dist|node_modules)$/.test(source) });
      await run(process.execPath, [TSC, '-p', join(pkg, 'tsconfig.json')]);
      const dryRun = JSON.parse((await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: pkg })).stdout) as { files: { path: string }[] }[];
      packed = dryRun[0]!.files.map((file) => file.path).sort();
      const tarball = JSON.parse((await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: pkg })).stdout) as { filename: string }[];
      // What `npm install runboard-client-0.1.0.tgz` puts in a project (the package has no dependencies to fetch).
      installed = join(work, 'project/node_modules/@runboard/client');
      mkdirSync(installed, { recursive: true });
      await run('tar', ['-xzf', join(work, tarball[0]!.filename), '-C', installed, '--strip-components=1']);
      writeFileSync(join(work, 'project/package.json'), JSON.stringify({ name: 'project', private: true, type: 'module' }));
      writeFileSync(join(work, 'project/runboard.js'), "export * from '@runboard/client';\n");
      runboard = (await import(/* @vite-ignore */ pathToFileURL(join(work, 'project/runboard.js')).href)) as typeof ClientPackage;
    })();
    system = await startSystem({ worker: true });
    await build;
    acme = system.tenants.acme!;
    baseUrl = system.app.baseUrl;
    [owner, operator] = await Promise.all([login(baseUrl, acme.users.owner.email), login(baseUrl, acme.users.operator.email)]);
    const created = await call(baseUrl, 'POST', '/api/tenants/acme/integration-tokens', { token: owner, body: { label: LABEL } });
    expect(created.status).toBe(201);
    integration = created.body.token;
  }, 120_000);

  afterAll(async () => {
    await system?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const client = (token: string, extra: Partial<ClientPackage.RunboardClientOptions> = {}) =>
    runboard.createRunboardClient({ baseUrl, token, retry: { attempts: 3, baseDelayMs: 10 }, ...extra });
  const errorOf = (promise: Promise<unknown>) => promise.then(() => null, (error: unknown) => error);

  it('packs the built JavaScript, its declarations, the README and package.json — nothing of src, scripts or tests', () => {
    expect(packed).toContain('package.json');
    expect(packed).toContain('README.md');
    expect(packed).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/api-types.d.ts']));
    expect(packed.filter((path) => !['package.json', 'README.md'].includes(path) && !/^dist\/[\w-]+\.(js|d\.ts)$/.test(path))).toEqual([]);
    // Every module has its declarations.
    const modules = packed.filter((path) => path.endsWith('.js'));
    expect(modules.map((path) => path.replace(/\.js$/, '.d.ts')).filter((path) => !packed.includes(path))).toEqual([]);

    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: '@runboard/client', version: '0.1.0', type: 'module', engines: { node: '>=20' } });
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.dependencies).toBeUndefined();
    // The built code imports nothing but its own modules.
    for (const path of modules) {
      const imports = [...readFileSync(join(installed, path), 'utf8').matchAll(/\bfrom\s+['"]([^'"]+)['"]/g)].map(([, specifier]) => specifier);
      expect(imports.filter((specifier) => !specifier!.startsWith('./')), path).toEqual([]);
    }
  });

  it('type-checks in a TypeScript project that installed it (NodeNext, declarations checked too)', async () => {
    const project = join(work, 'project');
    writeFileSync(
      join(project, 'use.ts'),
      [
        "import { createRunboardClient, RunboardError, type ListRunsQuery, type RunView } from '@runboard/client';",
        "const runboard = createRunboardClient({ baseUrl: 'http://localhost:3000', token: 'rbi_x', retry: { attempts: 2 } });",
        "const query: ListRunsQuery = { bucket: ['failed'], type: ['demo.batch'], limit: 10 };",
        "const run: RunView = await runboard.getRun('acme', 'id');",
        "export const status: 'queued' | 'running' | 'completed' = run.status;",
        "for await (const each of runboard.allRuns('acme', query)) each.counts.failed.toFixed();",
        "await runboard.reportRun('acme', { type: 'demo.external', scope: { key: 'k' } }, async (work) => { await work.fail({ code: 'x', message: 'm' }); });",
        "export const code = (error: unknown) => (error instanceof RunboardError && error.code === 'not_found' ? error.status : null);",
        '// @ts-expect-error: not a field of a run',
        'export const nope = run.nope;',
        "// @ts-expect-error: not a bucket",
        "export const bad: ListRunsQuery = { bucket: ['done'] };",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['use.ts'],
      }),
    );
    const checked = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project }).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe('');
  }, 60_000);

  it('reports a mirrored run end to end with an integration token, and members read it back', async () => {
    const recorded = recordingFetch();
    const reporting = client(integration, { fetch: recorded.fetch });
    const reporter = reporting.reporter('acme');
    const start = await reporter.start({ type: 'demo.external', scope: { key: 'package-e2e' }, initiator: { email: acme.users.operator.email } });
    expect(start).toMatchObject({ reused: false, url: `/t/acme/operations/${start.run.id}`, run: { status: 'queued', version: 1 } });
    const id = start.run.id;
    expect(await reporter.started(id)).toMatchObject({ status: 'running', version: 2 });
    expect(await reporter.progress(id, { total: 4, succeeded: 2 })).toMatchObject({ version: 3, counts: { total: 4, processed: 2 } });
    const failures = [{ code: 'restore_failed', message: 'disk full', item: 'db-3' }];
    expect(await reporter.progress(id, { succeeded: 1, failed: 1, failures })).toMatchObject({ version: 4, failureCount: 1 });
    const done = await reporter.completed(id);
    expect(done).toMatchObject({ status: 'completed', outcome: 'partially_succeeded', version: 5, counts: { total: 4, processed: 4, succeeded: 3, failed: 1 } });
    // Every event went out once, with its own generated eventId.
    const events = recorded.attempts.filter((a) => a.path.endsWith(`/runs/${id}/events`));
    expect(events.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(new Set(events.map((a) => a.body?.eventId)).size).toBe(4);
    expect(events.every((a) => typeof a.body?.eventId === 'string' && /^[0-9a-f-]{36}$/.test(a.body.eventId as string))).toBe(true);

    const reader = client(operator);
    const read = await reader.getRun('acme', id);
    expect(read).toMatchObject({ ...done, failures });
    const history = await reader.runHistory('acme', id);
    expect(history.at(0)).toMatchObject({ version: 1, kind: 'queued', by: { kind: 'integration', name: LABEL } });
    expect(history.at(1)).toMatchObject({ version: 2, kind: 'started', status: 'running' });
    expect(history.at(-1)).toMatchObject({ version: 5, kind: 'completed', status: 'completed', counts: done.counts, by: { kind: 'integration', name: LABEL } });
    const stats = await reader.stats('acme', '1h');
    expect(stats.window).toBe('1h');
    expect(stats.types.find((t) => t.type === 'demo.external')?.buckets.partially_succeeded).toBeGreaterThanOrEqual(1);
  });

  it('reportRun: keeps failures for the next progress, at most what one event carries, and completes the run', async () => {
    const recorded = recordingFetch();
    const { run: reported, result } = await client(integration, { fetch: recorded.fetch }).reportRun(
      'acme',
      { type: 'demo.external', scope: { key: 'package-report-run' } },
      async (work) => {
        await work.progress({ total: 1_062 });
        for (let item = 0; item < 1_001; item++) await work.fail({ code: 'item_failed', message: 'failed', item: `i-${item}` });
        await work.progress({ succeeded: 1 });
        // Long messages: fewer per event, so that a body stays within 64 KB.
        for (let item = 0; item < 60; item++) await work.fail({ code: 'restore_failed', message: `${item} ${'x'.repeat(1_990)}` });
        return 'done';
      },
    );
    expect(result).toBe('done');
    expect(reported).toMatchObject({ status: 'completed', outcome: 'partially_succeeded', counts: { total: 1_062, processed: 1_062, succeeded: 1, failed: 1_061 } });
    const events = recorded.attempts.filter((a) => a.path.endsWith('/events'));
    expect(events.map((a) => a.status).every((status) => status === 200)).toBe(true);
    expect(events.every((a) => new TextEncoder().encode(JSON.stringify(a.body)).length < 64 * 1024)).toBe(true);
    const summary = events.map(({ body }) => [body!.kind, body!.failed, (body!.failures as unknown[] | undefined)?.length]);
    expect(summary.slice(0, 4)).toEqual([
      ['started', undefined, undefined],
      ['progress', undefined, undefined],
      ['progress', 1_000, 1_000],
      ['progress', 1, 1],
    ]);
    // The 60 long ones went in two events, then the run completed.
    expect(summary.slice(4, -1).map(([, failed]) => failed as number).reduce((sum, n) => sum + n, 0)).toBe(60);
    expect(summary.slice(4, -1)).toHaveLength(2);
    expect(summary.at(-1)).toEqual(['completed', undefined, undefined]);

    // Work that throws ends the run failed, with the error's message as a failure; the error reaches the caller.
    let failedId = '';
    const thrown = await errorOf(
      client(integration).reportRun('acme', { type: 'demo.external', scope: { key: 'package-report-run-fails' } }, async (work) => {
        failedId = work.run.id;
        await work.fail({ code: 'item_failed', message: 'first item' });
        throw new Error('the restore was cancelled');
      }),
    );
    expect((thrown as Error).message).toBe('the restore was cancelled');
    const failed = await client(operator).getRun('acme', failedId);
    expect(failed).toMatchObject({ status: 'completed', outcome: 'failed', counts: { failed: 1 }, failureCount: 2 });
    expect(failed.failures?.map((f) => f.code)).toEqual(['item_failed', 'workflow_failed']);
  });

  it('pages through every run with the iterator, runs really run by the worker, and reads them', async () => {
    const reader = client(operator);
    const keys = ['page-1', 'page-2', 'page-3', 'page-4', 'page-5'];
    const started: string[] = [];
    for (const key of keys) {
      const answer = await reader.startRun('acme', { type: 'demo.batch', scope: { items: 2, itemMs: 5, key } });
      expect(answer.reused).toBe(false);
      started.push(answer.run.id);
    }
    for (const id of started) await system.feed.completed(id, 30_000);
    const worked = await reader.getRun('acme', started[0]!);
    expect(worked).toMatchObject({ status: 'completed', outcome: 'succeeded', counts: { total: 2, succeeded: 2 } });
    expect((await reader.runHistory('acme', started[0]!)).map((entry) => entry.by.kind)).toContain('worker');

    const query = { type: ['demo.batch'], limit: 2 };
    const first = await reader.listRuns('acme', query);
    expect(first.runs).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));

    const recorded = recordingFetch();
    const seen: string[] = [];
    for await (const each of client(operator, { fetch: recorded.fetch }).allRuns('acme', query)) seen.push(each.id);
    // Newest first, every run once, three pages of at most two.
    expect(seen).toEqual([...started].reverse());
    expect(recorded.attempts.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(recorded.attempts.map((a) => new URL(a.path, baseUrl).searchParams.get('limit'))).toEqual(['2', '2', '2']);
    expect(new URL(recorded.attempts[0]!.path, baseUrl).searchParams.has('cursor')).toBe(false);
    expect(new URL(recorded.attempts[1]!.path, baseUrl).searchParams.get('cursor')).toBe(first.nextCursor);
    // Stopping early fetches no further page.
    const early = recordingFetch();
    for await (const each of client(operator, { fetch: early.fetch }).allRuns('acme', query)) if (each) break;
    expect(early.attempts).toHaveLength(1);

    // A worker-driven run takes no reported events.
    const refused = await errorOf(client(integration).reporter('acme').progress(started[0]!, { succeeded: 1 }));
    expect(refused).toBeInstanceOf(runboard.RunboardError);
    expect(refused).toMatchObject({ status: 409, code: 'not_mirrored' });
  }, 90_000);

  it("refusals are RunboardErrors with the contract's status, code and details, never retried", async () => {
    const { run: mirrored } = await client(integration).reporter('acme').start({ type: 'demo.external', scope: { key: 'package-refusals' } });
    const recorded = recordingFetch();
    const asOperator = client(operator, { fetch: recorded.fetch });

    const forbidden = await errorOf(asOperator.reporter('acme').started(mirrored.id));
    expect(forbidden).toBeInstanceOf(runboard.RunboardError);
    expect(forbidden).toMatchObject({ name: 'RunboardError', status: 403, code: 'forbidden', message: expect.any(String) });

    const missing = await errorOf(asOperator.getRun('acme', '00000000-0000-4000-8000-000000000000'));
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    expect(await errorOf(asOperator.runHistory('acme', 'not-a-uuid'))).toMatchObject({ status: 404, code: 'not_found' });

    const invalid = await errorOf(asOperator.listRuns('acme', { limit: 0 }));
    expect(invalid).toMatchObject({ status: 400, code: 'validation_failed', details: [{ path: 'query.limit', message: expect.any(String) }] });

    expect(recorded.attempts.map((a) => a.status)).toEqual([403, 404, 404, 400]);
    expect(await client(operator).getRun('acme', mirrored.id)).toMatchObject({ status: 'queued', version: 1 });
  });

  it('a retried event is applied once: the answer lost after the server applied it, then 503 and 429 with Retry-After', async () => {
    const reporter = client(integration).reporter('acme');
    const { run } = await reporter.start({ type: 'demo.external', scope: { key: 'package-retries' } });
    await reporter.started(run.id);

    const faults: Fault[] = ['lose-answer', { status: 503, retryAfter: '0' }, { status: 429, retryAfter: '0' }];
    const flaky = recordingFetch((_attempt, index) => faults[index] ?? null);
    const after = await client(integration, { fetch: flaky.fetch, retry: { attempts: 4, baseDelayMs: 10 } }).reporter('acme').progress(run.id, { total: 3, succeeded: 2 });
    expect(flaky.attempts.map((a) => a.status)).toEqual(['network_error', 503, 429, 200]);
    expect(new Set(flaky.attempts.map((a) => a.body?.eventId)).size).toBe(1);
    // The first attempt was applied (version 3); the retry that got through was recognised by its eventId.
    expect(after).toMatchObject({ version: 3, counts: { total: 3, succeeded: 2 } });
    expect(await client(operator).getRun('acme', run.id)).toMatchObject({ version: 3, counts: { succeeded: 2 } });

    // Not retried: a 500, and a Retry-After longer than the client may wait (thrown with it, to schedule).
    const broken = recordingFetch(() => ({ status: 500 }));
    expect(await errorOf(client(integration, { fetch: broken.fetch }).reporter('acme').progress(run.id, { succeeded: 1 }))).toMatchObject({ status: 500, code: 'internal_error' });
    expect(broken.attempts).toHaveLength(1);
    const patient = recordingFetch(() => ({ status: 503, retryAfter: '120' }));
    const later = await errorOf(client(integration, { fetch: patient.fetch }).reporter('acme').progress(run.id, { succeeded: 1 }));
    expect(later).toMatchObject({ status: 503, code: 'unavailable', retryAfterMs: 120_000 });
    expect(patient.attempts).toHaveLength(1);

    // Retries are bounded; without any answer the error says so.
    const offline = recordingFetch(() => 'network');
    const unreachable = await errorOf(client(integration, { fetch: offline.fetch }).reporter('acme').completed(run.id));
    expect(unreachable).toMatchObject({ name: 'RunboardError', status: 0, code: 'network_error' });
    expect(offline.attempts).toHaveLength(3);
    expect(new Set(offline.attempts.map((a) => a.body?.eventId)).size).toBe(1);
    expect(await client(operator).getRun('acme', run.id)).toMatchObject({ status: 'running', version: 3 });
  });
});
