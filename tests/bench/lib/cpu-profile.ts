import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../../helpers/app.ts';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const where = (url: string) => {
  const path = url.replace(/^file:\/\//, '');
  const local = path.startsWith(ROOT) ? relative(ROOT, path) : path;
  return local.replace(/^node_modules\//, '');
};

/**
 * The functions with the most self time in the main-thread `.cpuprofile` files of a directory (written by `node
 * --cpu-prof --cpu-prof-dir=…` at exit), one line each: ms, share of samples, function, file:line.
 */
export function topSelfTime(dir: string, count: number): string {
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (others: tsx's loader).
  const files = readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (files.length === 0) return '(no profile was written)';
  const selfMs = new Map<string, number>();
  let totalMs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)!.callFrame;
      const key = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
      totalMs += ms;
    });
  }
  const active = [...selfMs.entries()].filter(([key]) => !key.startsWith('(idle)'));
  const activeMs = active.reduce((sum, [, ms]) => sum + ms, 0);
  const lines = active
    .sort(([, a], [, b]) => b - a)
    .slice(0, count)
    .map(([key, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((ms / activeMs) * 100).toFixed(1).padStart(5)} %  ${key}`);
  return [`busy ${activeMs.toFixed(0)} ms of ${totalMs.toFixed(0)} ms sampled (idle excluded); share = of busy time`, ...lines].join('\n');
}
