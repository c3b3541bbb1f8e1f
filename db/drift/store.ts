import { sql, type SqlBool } from 'kysely';
import { queries } from '../database.ts';
import { decodeKeyset, encodeKeyset } from '../inventory/keyset.ts';
import type { Orm } from '../orm.ts';
import { InvalidCursorError } from '../pagination.ts';
import { DRIFT_CHANGES, type DriftChange, type DriftField } from './entity.ts';

/** A finding as a generation writes it (values already sanitized by the diff). */
export type NewFinding = {
  externalId: string;
  name: string;
  policyType: string;
  change: DriftChange;
  fields: DriftField[];
  fieldsOmitted: number;
};

export type FindingRow = {
  id: string;
  external_id: string;
  name: string;
  policy_type: string;
  change: DriftChange;
  fields: DriftField[];
  fields_omitted: number;
};

export type FindingFilters = { change?: DriftChange; limit: number; cursor?: string };

/** Rows per INSERT (7 parameters a row). */
const INSERT_CHUNK = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The (change, name, id) of a findings cursor; InvalidCursorError (a 400) for anything this store did not issue. */
export function decodeFindingCursor(cursor: string): [DriftChange, string, string] {
  const [change, name, id] = decodeKeyset(cursor, 3) as [string, string, string];
  if (!(DRIFT_CHANGES as readonly string[]).includes(change) || !UUID.test(id)) throw new InvalidCursorError('cursor is not valid');
  return [change as DriftChange, name, id];
}

/** The one owner of `drift_findings` SQL. Findings belong to the `drift.generate` run that found them. */
export class DriftStore {
  constructor(private readonly orm: Orm) {}

  async insertBatch(runId: string, tenantId: string, findings: readonly NewFinding[]): Promise<void> {
    for (let start = 0; start < findings.length; start += INSERT_CHUNK) {
      const chunk = findings.slice(start, start + INSERT_CHUNK);
      await queries(this.orm)
        .insertInto('drift_findings')
        .values(
          chunk.map((finding) => ({
            run_id: runId,
            tenant_id: tenantId,
            external_id: finding.externalId,
            name: finding.name,
            policy_type: finding.policyType,
            change: finding.change,
            // An array parameter would be sent as a PostgreSQL array: send the JSON text.
            fields: sql<DriftField[]>`${JSON.stringify(finding.fields)}::jsonb`,
            fields_omitted: finding.fieldsOmitted,
          })),
        )
        .execute();
    }
  }

  /** A keyset page by (change, name, id), and the cursor of the next page (null on the last). */
  async list(runId: string, filters: FindingFilters): Promise<{ rows: FindingRow[]; nextCursor: string | null }> {
    const rows = (await this.listQuery(runId, filters).execute()) as FindingRow[];
    const page = rows.slice(0, filters.limit);
    const last = page.at(-1);
    return { rows: page, nextCursor: rows.length > filters.limit && last ? encodeKeyset([last.change, last.name, last.id]) : null };
  }

  /** The list query (one row more than the page); public for the benchmark. */
  listQuery(runId: string, filters: FindingFilters) {
    let query = queries(this.orm)
      .selectFrom('drift_findings as f')
      .select(['f.id', 'f.external_id', 'f.name', 'f.policy_type', 'f.change', 'f.fields', 'f.fields_omitted'])
      .where('f.run_id', '=', runId);
    if (filters.change) query = query.where('f.change', '=', filters.change);
    if (filters.cursor) {
      const [change, name, id] = decodeFindingCursor(filters.cursor);
      query = query.where(sql<SqlBool>`(f.change, f.name, f.id) > (${change}, ${name}, ${id}::uuid)`);
    }
    return query.orderBy('f.change').orderBy('f.name').orderBy('f.id').limit(filters.limit + 1);
  }

  /** How many findings of each change the run has. */
  async countsByChange(runId: string): Promise<Record<DriftChange, number>> {
    const rows = await this.countsQuery(runId).execute();
    const counts = Object.fromEntries(DRIFT_CHANGES.map((change) => [change, 0])) as Record<DriftChange, number>;
    for (const row of rows) counts[row.change] = Number(row.count);
    return counts;
  }

  /** Public for the benchmark. */
  countsQuery(runId: string) {
    return queries(this.orm)
      .selectFrom('drift_findings')
      .select((eb) => ['change', eb.fn.countAll<string>().as('count')])
      .where('run_id', '=', runId)
      .groupBy('change');
  }
}
