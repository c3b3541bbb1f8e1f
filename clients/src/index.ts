// @runboard/client: Runboard's HTTP API, typed from its OpenAPI document (api-types.ts is generated), with no
// runtime dependency: the global `fetch` and `crypto.randomUUID` (Node ≥ 20, Deno, Bun, browsers). See README.md.
export { createRunboardClient, type RunboardClient, type RunboardClientOptions } from './client.js';
export { RunboardError, type ErrorDetail, type RunboardErrorCode } from './errors.js';
export type { EventOptions, ProgressReport, ReportedFailure, ReportedWork, RunReporter, StartInput } from './reporting.js';
export type { ConnectionOptions, RequestInput, RetryOptions, Send } from './transport.js';
// Every shape of the API: RunView, RunsPage, ListRunsQuery, ReportRunEventBody, ErrorBody, Operations, …
export type * from './api-types.js';
