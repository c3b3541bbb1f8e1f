import { sql } from 'kysely';
import { clockTimestamp, queries } from '../database.ts';
import type { Orm } from '../orm.ts';
import type { SimulatedSettings, SourceKind } from './entity.ts';

/** A policy source as pages and the API may see it: whether there is a credential, never the credential. */
export type PolicySourceRow = {
  kind: SourceKind;
  base_url: string | null;
  collections: string[];
  simulated: SimulatedSettings | null;
  has_credential: boolean;
  updated_at: Date;
};

/** What the workers' source factory needs: the ciphertext, and the tenant slug the simulated content derives from. */
export type PolicySourceSecretRow = Omit<PolicySourceRow, 'has_credential'> & { tenant_slug: string; credential_ciphertext: string | null };

export type PolicySourceWrite = {
  tenantId: string;
  kind: SourceKind;
  baseUrl: string | null;
  collections: string[];
  simulated: SimulatedSettings | null;
  updatedById: string | null;
};

/** jsonb values are sent as JSON text (the driver would send a JS array as a PostgreSQL array). */
const jsonb = <T>(value: T) => sql<T>`${JSON.stringify(value)}::jsonb`;

/** Timestamps come back as Date or ISO text depending on the statement; rows always carry a Date. */
function withDate<T extends { updated_at: Date | string }>(row: T | undefined): (T & { updated_at: Date }) | null {
  return row ? { ...row, updated_at: row.updated_at instanceof Date ? row.updated_at : new Date(row.updated_at) } : null;
}

const VIEW_COLUMNS = ['s.kind', 's.base_url', 's.collections', 's.simulated', 's.updated_at'] as const;

/** The one owner of `policy_sources` SQL. The ciphertext leaves it through findSecret() only. */
export class PolicySourceStore {
  constructor(private readonly orm: Orm) {}

  async findView(tenantId: string): Promise<PolicySourceRow | null> {
    const row = await queries(this.orm)
      .selectFrom('policy_sources as s')
      .select([...VIEW_COLUMNS, sql<boolean>`s.credential_ciphertext is not null`.as('has_credential')])
      .where('s.tenant_id', '=', tenantId)
      .executeTakeFirst();
    return withDate(row as PolicySourceRow | undefined);
  }

  /** For the source factory of the workers only. */
  async findSecret(tenantId: string): Promise<PolicySourceSecretRow | null> {
    const row = await queries(this.orm)
      .selectFrom('policy_sources as s')
      .innerJoin('tenants as t', 't.id', 's.tenant_id')
      .select([...VIEW_COLUMNS, 's.credential_ciphertext', 't.slug as tenant_slug'])
      .where('s.tenant_id', '=', tenantId)
      .executeTakeFirst();
    return withDate(row as PolicySourceSecretRow | undefined);
  }

  /**
   * Inserts or replaces the tenant's source. `credential`: a new ciphertext or null (replaces), or `keep`
   * — then only a row still at `expectedUpdatedAt` is changed (null: only when there is none yet), so the
   * kept credential belongs to the source that was checked. Null when that row moved on meanwhile.
   */
  async upsert(
    source: PolicySourceWrite,
    credential: { set: string | null } | { keep: true; expectedUpdatedAt: Date | null },
  ): Promise<PolicySourceRow | null> {
    const values = {
      tenant_id: source.tenantId,
      kind: source.kind,
      base_url: source.baseUrl,
      collections: jsonb(source.collections),
      simulated: source.simulated ? jsonb(source.simulated) : null,
      credential_ciphertext: 'set' in credential ? credential.set : null,
      updated_at: clockTimestamp,
      updated_by_id: source.updatedById,
    };
    const row = await queries(this.orm)
      .insertInto('policy_sources')
      .values(values)
      .onConflict((oc) => {
        if ('keep' in credential && credential.expectedUpdatedAt === null) return oc.column('tenant_id').doNothing();
        const update = oc.column('tenant_id').doUpdateSet((eb) => ({
          kind: eb.ref('excluded.kind'),
          base_url: eb.ref('excluded.base_url'),
          collections: eb.ref('excluded.collections'),
          simulated: eb.ref('excluded.simulated'),
          updated_at: eb.ref('excluded.updated_at'),
          updated_by_id: eb.ref('excluded.updated_by_id'),
          ...('set' in credential ? { credential_ciphertext: eb.ref('excluded.credential_ciphertext') } : {}),
        }));
        if (!('keep' in credential)) return update;
        // Dates reach JavaScript with milliseconds; the column keeps microseconds.
        return update.where(sql<boolean>`abs(extract(epoch from policy_sources.updated_at - ${credential.expectedUpdatedAt}::timestamptz)) < 0.001`);
      })
      .returning(['kind', 'base_url', 'collections', 'simulated', 'updated_at', sql<boolean>`credential_ciphertext is not null`.as('has_credential')])
      .executeTakeFirst();
    return withDate(row as PolicySourceRow | undefined);
  }

  /**
   * Moves a simulated source's revision by `by`, clamped to 0…max, in one statement; null when the tenant's
   * source is not simulated.
   */
  async moveRevision(tenantId: string, by: number, max: number): Promise<number | null> {
    const next = sql<number>`least(greatest(coalesce((simulated->>'revision')::int, 0) + ${by}::int, 0), ${max}::int)`;
    const row = await queries(this.orm)
      .updateTable('policy_sources')
      .set({ simulated: sql`jsonb_set(coalesce(simulated, '{}'::jsonb), '{revision}', to_jsonb(${next}))`, updated_at: clockTimestamp })
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'simulated')
      .returning(sql<number>`(simulated->>'revision')::int`.as('revision'))
      .executeTakeFirst();
    return row ? Number(row.revision) : null;
  }
}
