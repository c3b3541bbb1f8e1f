import type { Catalog } from '../catalog/catalog.ts';
import type { RelatedLink } from '../catalog/types.ts';
import { bucketOf, type RunBucket, type RunCounts, type RunFailure, type RunOutcome, type RunStatus, type StatsWindow } from './model.ts';
import type { RunRow } from './store.ts';

/** The run on the wire (HTTP and live channel). `failures` only where the full detail is asked for. */
export type RunView = {
  id: string;
  tenant: string;
  type: string;
  /** The operation type's human name (the type itself when the type is unknown to this install). */
  label: string;
  status: RunStatus;
  outcome: RunOutcome;
  bucket: RunBucket;
  counts: RunCounts;
  failures?: RunFailure[];
  failureCount: number;
  scope: Record<string, unknown>;
  initiator: { id: string; name: string } | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string;
  version: number;
  related: RelatedLink[];
};

/** A start's answer: 202 with `reused: false`, 200 with `reused: true`; `url` is the dashboard's run page. */
export type StartAnswer = { run: RunView; reused: boolean; url: string };

export type BucketCounts = Record<RunBucket, number>;
/** Runs of a window per bucket and per type. */
export type RunStats = { window: StatsWindow; buckets: BucketCounts; types: { type: string; buckets: BucketCounts }[] };

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));

export function toRunView(row: RunRow, catalog: Catalog): RunView {
  const related = relatedLinks(row, catalog);
  return {
    id: row.id,
    tenant: row.tenant_slug,
    type: row.type,
    label: catalog.get(row.type)?.label ?? row.type,
    status: row.status,
    outcome: row.outcome,
    bucket: bucketOf(row.status, row.outcome),
    counts: {
      total: row.total,
      processed: row.processed,
      succeeded: row.succeeded,
      failed: row.failed,
      skipped: row.skipped,
    },
    ...(row.failures !== undefined ? { failures: row.failures } : {}),
    failureCount: row.failure_count,
    scope: row.scope,
    initiator: row.initiator_id && row.initiator_name !== null ? { id: row.initiator_id, name: row.initiator_name } : null,
    createdAt: iso(row.created_at),
    startedAt: isoOrNull(row.started_at),
    completedAt: isoOrNull(row.completed_at),
    updatedAt: iso(row.updated_at),
    version: row.version,
    related,
  };
}

/** A run without its failures list (`failureCount` stays): what live pushes and event answers carry. */
export function summaryOf(run: RunView): Omit<RunView, 'failures'> {
  const { failures: _failures, ...summary } = run;
  return summary;
}

/** Links from the operation type; a type whose link builder throws shows none rather than failing the read. */
function relatedLinks(row: RunRow, catalog: Catalog): RelatedLink[] {
  const declaration = catalog.get(row.type);
  try {
    return declaration ? declaration.related(row.scope, { tenant: row.tenant_slug, runId: row.id }) : [];
  } catch {
    return [];
  }
}

/** The dashboard's run detail path (docs/api.md §3). */
export function runUrl(tenant: string, runId: string): string {
  return `/t/${encodeURIComponent(tenant)}/operations/${runId}`;
}
