import type { Catalog } from '../catalog/catalog.ts';
import type { RelatedLink } from '../catalog/types.ts';
import {
  bucketOf,
  type ChangeAuthor,
  type RunBaseline,
  type RunBucket,
  type RunCounts,
  type RunFailure,
  type RunOutcome,
  type RunStatus,
  type RunUpdateKind,
  type StatsWindow,
} from './model.ts';
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

/** One recorded change of a run (`GET …/runs/:id/history`, and `history` on the `run:update` that made it). */
export type RunHistoryEntry = {
  version: number;
  kind: RunUpdateKind;
  status: RunStatus;
  counts: RunCounts;
  at: string;
  by: ChangeAuthor;
};

/** Failures of one reason code across the tenant's runs of a window (codes and sanitized messages only). */
export type FailureReason = {
  code: string;
  /** Runs with at least one failure of this code. */
  runs: number;
  /** Failures of this code across those runs. */
  failures: number;
  /** The operation types of those runs. */
  types: string[];
  lastSeenAt: string;
  /** The latest sanitized message of this code. */
  message: string;
};

export type { ChangeAuthor, RunBaseline };
/** A type's baseline with its name: `GET …/baselines`. */
export type TypeBaseline = RunBaseline & { type: string; label: string };

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

/** The history entry of a change, from the changed row (`updated_at` is the change's instant). */
export function historyEntryOf(row: RunRow, kind: RunUpdateKind, by: ChangeAuthor): RunHistoryEntry {
  return toHistoryEntry({ ...row, kind, at: row.updated_at, by_kind: by.kind, by_name: by.name });
}

/** A stored history row on the wire. */
export function toHistoryEntry(row: {
  version: number; kind: RunUpdateKind; status: RunStatus; total: number; processed: number; succeeded: number; failed: number; skipped: number;
  at: Date | string; by_kind: ChangeAuthor['kind']; by_name: string;
}): RunHistoryEntry {
  return {
    version: row.version,
    kind: row.kind,
    status: row.status,
    counts: { total: row.total, processed: row.processed, succeeded: row.succeeded, failed: row.failed, skipped: row.skipped },
    at: iso(row.at),
    by: { kind: row.by_kind, name: row.by_name },
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
