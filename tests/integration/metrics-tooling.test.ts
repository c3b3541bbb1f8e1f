import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, ROOT, startApp, type RunningApp } from '../helpers/app.ts';
import { spawnWorkerProcess, stopAll, type ServiceProcess } from '../helpers/processes.ts';
import { createTestEnv, type TestEnv } from '../helpers/stack.ts';

// Prometheus's own promtool checks what we ship (docs/metrics.md): the metric names of a running server and a
// running worker (its linter), the Prometheus configuration of the compose file, and every query of the Grafana
// dashboard, which must parse and must name only metrics that a server or a worker really exposes.

const PROMETHEUS_CONFIG = join(ROOT, 'deploy/prometheus/prometheus.yml');
const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
const DASHBOARD = join(ROOT, 'deploy/grafana/dashboards/runboard.json');
const COMPOSE = join(ROOT, 'docker-compose.yml');

/**
 * Lint findings we accept: prom-client's default metrics name three gauges `nodejs_active_*_total`. Renaming
 * them would break every standard Node.js dashboard and alert, so they stay as prom-client names them.
 */
const PROM_CLIENT_DEFAULTS = /^runboard_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
/** The one series Prometheus adds itself for every target; a dashboard may use it. */
const SYNTHETIC = new Set(['up']);

function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 60_000 });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error("promtool is not installed: run `apt-get install prometheus` (Debian's package; .ci/run installs it)");
  }
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** promtool's lint of an exposition: its findings, minus the accepted ones; fails on a text it cannot parse. */
function lintMetrics(text: string): string[] {
  const { status, output } = promtool(['check', 'metrics'], text);
  // 0: clean; 3: lint findings; anything else: the text could not be parsed.
  expect([0, 3], output).toContain(status);
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !PROM_CLIENT_DEFAULTS.test(line));
}

/** Metric families of an exposition, from its `# TYPE` lines (a family may have no sample yet). */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

type Panel = { id?: number; type: string; title?: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] };
type Target = { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } };

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** Grafana's interval variables as Prometheus sees them once Grafana has filled them in. */
const withIntervals = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');

const GROUPING = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const OPERATORS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan', 'by', 'without']);

/** The metric names a PromQL expression selects: identifiers that are not functions, labels or keywords. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(GROUPING, '');
  return [...bare.matchAll(/\b[A-Za-z_][A-Za-z0-9_:]*\b(?!\s*\()/g)].map((m) => m[0]).filter((name) => !OPERATORS.has(name));
}

/** Whether `name` is a series of one of the families (a histogram's _bucket/_sum/_count included). */
function exposed(name: string, known: Map<string, string>): boolean {
  if (known.has(name) || SYNTHETIC.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && ['histogram', 'summary'].includes(known.get(base) ?? '') && !(name.endsWith('_bucket') && known.get(base) === 'summary');
}

describe('metrics tooling (promtool)', () => {
  let env: TestEnv;
  let app: RunningApp;
  let worker: ServiceProcess | undefined;
  let serverText: string;
  let workerText: string;
  let scratch: string;

  beforeAll(async () => {
    promtool(['--version']);
    scratch = mkdtempSync(join(tmpdir(), 'runboard-promtool-'));
    env = await createTestEnv();
    app = await startApp(env);
    // Some traffic, so the request histogram has series with labels.
    await call(app.baseUrl, 'GET', '/healthz');
    await call(app.baseUrl, 'GET', '/api/tenants');
    const server = await call(app.baseUrl, 'GET', '/metrics');
    expect(server.status).toBe(200);
    serverText = server.body as string;

    worker = await spawnWorkerProcess(env, { WORKER_METRICS_PORT: '0' });
    const line = await worker.waitForLine(/worker metrics on :\d+/);
    const port = (JSON.parse(line) as { port: number }).port;
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(scraped.status).toBe(200);
    workerText = await scraped.text();
  });

  afterAll(async () => {
    await stopAll([worker]);
    await app?.close();
    await env?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('finds nothing to lint in the server\'s /metrics', () => {
    expect(serverText).toContain('runboard_http_request_duration_seconds_bucket{');
    expect(lintMetrics(serverText)).toEqual([]);
  });

  it('finds nothing to lint in a worker\'s /metrics', () => {
    expect(workerText).toContain('runboard_worker_runs_processed_total{');
    expect(lintMetrics(workerText)).toEqual([]);
  });

  it('would report a badly named metric (the lint is live)', () => {
    const bad = '# HELP runboard_bad_things A counter without _total\n# TYPE runboard_bad_things counter\nrunboard_bad_things 1\n';
    expect(lintMetrics(bad)).toEqual([expect.stringContaining('runboard_bad_things')]);
  });

  it('accepts the Prometheus configuration of the compose file', () => {
    // As written (syntax), and in full beside a token file, as the compose file runs it.
    const syntax = promtool(['check', 'config', '--syntax-only', PROMETHEUS_CONFIG]);
    expect(syntax.status, syntax.output).toBe(0);
    copyFileSync(PROMETHEUS_CONFIG, join(scratch, 'prometheus.yml'));
    copyFileSync(ALERTS, join(scratch, 'alerts.yml'));
    writeFileSync(join(scratch, 'metrics_token'), '');
    const full = promtool(['check', 'config', join(scratch, 'prometheus.yml')]);
    expect(full.status, full.output).toBe(0);
    // The config loads the alerting rules beside it.
    expect(full.output).toMatch(/alerts\.yml[\s\S]*SUCCESS: \d+ rules found/);
  });

  it('accepts the alerting rules, which name only metrics that a server or a worker exposes', () => {
    const checked = promtool(['check', 'rules', ALERTS]);
    expect(checked.status, checked.output).toBe(0);
    const exprs = [...readFileSync(ALERTS, 'utf8').matchAll(/^ {8}expr: (?:\|\n((?: {10}.*\n)+)|(.*)\n)/gm)].map((m) => (m[1] ?? m[2])!);
    expect(exprs.length).toBe(Number(/SUCCESS: (\d+) rules found/.exec(checked.output)?.[1]));
    const known = new Map([...families(serverText), ...families(workerText)]);
    const names = exprs.flatMap(metricNames);
    expect(names.length).toBeGreaterThanOrEqual(exprs.length);
    expect(names.filter((name) => !exposed(name, known))).toEqual([]);
  });

  it('scrapes the ports the compose file gives servers and workers, found by Docker DNS', () => {
    const config = readFileSync(PROMETHEUS_CONFIG, 'utf8');
    const compose = readFileSync(COMPOSE, 'utf8');
    const portOf = (service: string) => new RegExp(`names: \\[${service}\\]\\s+type: A\\s+(?:#.*\\s+)*port: (\\d+)`).exec(config)?.[1];
    expect(portOf('server')).toBe('3000');
    expect(compose).toMatch(/^ {6}- "3000"$/m);
    expect(portOf('worker')).toBe(/WORKER_METRICS_PORT: "(\d+)"/.exec(compose)?.[1]);
    expect(compose).toMatch(new RegExp(`^ {6}- "${portOf('worker')}"$`, 'm'));
  });

  describe('the Grafana dashboard', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      schemaVersion: number;
      uid: string;
      panels: Panel[];
      templating: { list: { name: string; type: string; query?: string }[] };
    };
    const panels = allPanels(dashboard.panels).filter((panel) => panel.type !== 'row');
    const targets = panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));

    it('is a current dashboard whose panels all use the templated Prometheus data source', () => {
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
      expect(dashboard.uid).toBe('runboard');
      expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' }));
      const ids = allPanels(dashboard.panels).map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(targets.length).toBeGreaterThan(20);
      const elsewhere = [...panels.map((p) => ({ title: p.title, ds: p.datasource })), ...targets.map(({ panel, target }) => ({ title: `${panel.title} ${target.refId}`, ds: target.datasource }))].filter(
        ({ ds }) => ds?.type !== 'prometheus' || ds.uid !== '${DS_PROMETHEUS}',
      );
      expect(elsewhere).toEqual([]);
    });

    it('has only queries that promtool parses', () => {
      const exprs = targets.map(({ target }) => target.expr ?? '');
      expect(exprs.filter((expr) => expr.trim() === '')).toEqual([]);
      // Grafana's own interval variables are the only ones the queries may use.
      expect(exprs.map(withIntervals).filter((expr) => expr.includes('$'))).toEqual([]);
      const rules = {
        groups: [
          {
            name: 'runboard-dashboard',
            rules: targets.map(({ panel, target }) => ({ record: `dashboard:panel_${panel.id}:${target.refId}`, expr: withIntervals(target.expr!) })),
          },
        ],
      };
      // JSON is YAML, so the rules file can be written as JSON.
      const file = join(scratch, 'dashboard-rules.yml');
      writeFileSync(file, JSON.stringify(rules, null, 2));
      const checked = promtool(['check', 'rules', file]);
      expect(checked.status, checked.output).toBe(0);
      expect(checked.output).toContain(`SUCCESS: ${targets.length} rules found`);
    });

    it('would report a query that does not parse (the check is live)', () => {
      const file = join(scratch, 'broken-rules.yml');
      writeFileSync(file, JSON.stringify({ groups: [{ name: 'broken', rules: [{ record: 'dashboard:broken', expr: 'sum(rate(runboard_x_total[5m])' }] }] }));
      expect(promtool(['check', 'rules', file]).status).not.toBe(0);
    });

    it('names only metrics that a server or a worker exposes', () => {
      const known = new Map([...families(serverText), ...families(workerText)]);
      const named = targets.flatMap(({ panel, target }) => metricNames(target.expr!).map((name) => ({ panel: panel.title, name })));
      expect(named.length).toBeGreaterThan(targets.length - 1);
      expect(named.filter(({ name }) => !exposed(name, known))).toEqual([]);
      // Both sides are on the board.
      const names = new Set(named.map(({ name }) => name));
      for (const name of ['runboard_http_request_duration_seconds_bucket', 'runboard_live_sockets', 'runboard_run_starts_total', 'runboard_queue_jobs', 'runboard_queue_oldest_run_age_seconds', 'runboard_worker_runs_processed_total', 'runboard_worker_handler_duration_seconds_bucket', 'runboard_webhook_deliveries_total', 'runboard_webhook_delivery_duration_seconds_bucket', 'runboard_webhook_backlog', 'runboard_process_cpu_seconds_total', 'runboard_nodejs_eventloop_lag_p99_seconds']) {
        expect(names, name).toContain(name);
      }
    });

    it('tells metric names from functions, labels and keywords', () => {
      expect(metricNames('histogram_quantile(0.95, sum by (le, type) (rate(runboard_a_bucket{queue="runs"}[5m])))')).toEqual(['runboard_a_bucket']);
      expect(metricNames('sum(rate(a_total{outcome="failed"}[5m])) / sum without (instance) (rate(b_total[5m])) or vector(0)')).toEqual(['a_total', 'b_total']);
      expect(exposed('runboard_x_bucket', new Map([['runboard_x', 'histogram']]))).toBe(true);
      expect(exposed('runboard_x_bucket', new Map([['runboard_x', 'counter']]))).toBe(false);
      expect(exposed('runboard_missing', new Map())).toBe(false);
    });
  });
});
