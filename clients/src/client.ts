import type { ListRunsQuery, RunHistoryEntry, RunsPage, RunView, StartAnswer, Stats, StatsWindow } from './api-types.js';
import { createReporter, reportRun, type ReportedWork, type RunReporter, type StartInput } from './reporting.js';
import { createTransport, type ConnectionOptions, type Send } from './transport.js';

export type RunboardClientOptions = ConnectionOptions;

export type RunboardClient = {
  /** One page of runs, newest first (docs/api.md §3); pass its `nextCursor` as `cursor` for the next. */
  listRuns(tenant: string, query?: ListRunsQuery): Promise<RunsPage>;
  /** Every run the query matches, newest first, fetching page after page (`limit` runs each) as you iterate. */
  allRuns(tenant: string, query?: Omit<ListRunsQuery, 'cursor'>): AsyncGenerator<RunView, void, undefined>;
  /** The run with its `failures`; a run of another tenant, or none, is a `404 not_found`. */
  getRun(tenant: string, id: string): Promise<RunView>;
  /** The run's recorded changes, oldest first (docs/api.md §11). */
  runHistory(tenant: string, id: string): Promise<RunHistoryEntry[]>;
  /** Runs per bucket and type within the window (default `24h`). */
  stats(tenant: string, window?: StatsWindow): Promise<Stats>;
  /** Creates a run, or answers the active run with the same identity (`reused: true`). */
  startRun(tenant: string, input: StartInput): Promise<StartAnswer>;
  /** Reports the life of the tenant's mirrored runs (an integration token): start, started, progress, completed. */
  reporter(tenant: string): RunReporter;
  /** Starts a mirrored run, reports `started`, runs `work`, and completes the run, or aborts it if `work` throws. */
  reportRun<T>(tenant: string, input: StartInput, work: (run: ReportedWork) => Promise<T>): Promise<{ run: RunView; result: T }>;
  /** Any operation of the API by its `operationId` (`listFailureReasons`, `getRun`, …), typed from the contract. */
  request: Send;
};

export function createRunboardClient(options: RunboardClientOptions): RunboardClient {
  const send = createTransport(options);
  const reporter = (tenant: string) => createReporter(send, tenant);
  const listRuns = (tenant: string, query?: ListRunsQuery) => send('listRuns', { params: { tenant }, query });

  return {
    listRuns,
    async *allRuns(tenant, query = {}) {
      let cursor: string | undefined;
      do {
        const page = await listRuns(tenant, { ...query, cursor });
        yield* page.runs;
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
    },
    getRun: (tenant, id) => send('getRun', { params: { tenant, id } }).then((answer) => answer.run),
    runHistory: (tenant, id) => send('getRunHistory', { params: { tenant, id } }).then((answer) => answer.history),
    stats: (tenant, window) => send('getStats', { params: { tenant }, query: window === undefined ? undefined : { window } }),
    startRun: (tenant, input) => reporter(tenant).start(input),
    reporter,
    reportRun: (tenant, input, work) => reportRun(reporter(tenant), input, work),
    request: send,
  };
}
