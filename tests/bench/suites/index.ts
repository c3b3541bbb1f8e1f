import type { Suite } from '../lib/report.ts';
import { dashboard } from './dashboard.ts';
import { historySuite } from './history.ts';
import { inventory } from './inventory.ts';
import { list } from './list.ts';
import { live } from './live.ts';
import { memory } from './memory.ts';
import { nocWall } from './noc-wall.ts';
import { overviewSuite } from './overview.ts';
import { polling } from './polling.ts';
import { startSuite } from './start.ts';
import { webhooksSuite } from './webhooks.ts';

/** Every benchmark suite, in the order they run and appear in docs/benchmarks.md. */
export const SUITES: Suite[] = [
  live,
  polling,
  memory,
  startSuite,
  list,
  overviewSuite,
  historySuite,
  inventory,
  webhooksSuite,
  dashboard,
  nocWall,
];
