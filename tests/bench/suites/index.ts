import type { Suite } from '../lib/report.ts';

/** Every benchmark suite, in the order they run and appear in docs/benchmarks.md. */
export const SUITES: Suite[] = [];
