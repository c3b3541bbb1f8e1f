import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/app.ts';
import type { SuiteResult } from './lib/report.ts';
import { SUITES } from './suites/index.ts';

const out = mkdtempSync(join(tmpdir(), 'runboard-bench-test-'));

// The benchmark code runs in `npm test` so it cannot rot; figures are not judged here (this machine is noisy).
describe('npm run bench -- --quick', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every suite, loses no terminal transition and writes the report', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/bench/run.ts', '--quick', `--out=${out}`], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output.slice(-4000)).toBe(0);

    const report = JSON.parse(readFileSync(join(out, 'benchmarks.json'), 'utf8')) as { results: SuiteResult[] };
    expect(report.results.map((r) => r.id)).toEqual(SUITES.map((s) => s.id));
    for (const result of report.results) {
      expect(result.lost ?? 0, result.id).toBe(0);
      expect(result.figures.length, result.id).toBeGreaterThan(0);
      for (const figure of result.figures) expect(Number.isFinite(figure.value), `${result.id} ${figure.name}`).toBe(true);
    }
    expect(readFileSync(join(out, 'benchmarks.md'), 'utf8')).toContain('# Runboard benchmarks');
  }, 300_000);
});
