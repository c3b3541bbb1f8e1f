import type { Expression } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { queries } from '../database.ts';
import type { Role } from '../access/roles.ts';
import type { Orm } from '../orm.ts';

export type TenantRow = { id: string; slug: string; name: string };
export type UserRow = { id: string; email: string; name: string };

/** The one owner of `tenants`, `users` and `memberships` SQL. Emails are stored lower-cased. */
export class TenantStore {
  constructor(private readonly orm: Orm) {}

  /** Null when the slug is taken. */
  async insertTenant(slug: string, name: string): Promise<TenantRow | null> {
    const row = await queries(this.orm)
      .insertInto('tenants')
      .values({ slug, name })
      .onConflict((oc) => oc.column('slug').doNothing())
      .returning(['id', 'slug', 'name'])
      .executeTakeFirst();
    return row ?? null;
  }

  async findTenant(slug: string): Promise<TenantRow | null> {
    const row = await queries(this.orm).selectFrom('tenants').select(['id', 'slug', 'name']).where('slug', '=', slug).executeTakeFirst();
    return row ?? null;
  }

  async listTenants(): Promise<TenantRow[]> {
    return queries(this.orm).selectFrom('tenants').select(['id', 'slug', 'name']).orderBy('slug').execute();
  }

  /** Null when the email is taken. */
  async insertUser(user: { email: string; name: string; passwordHash: string }): Promise<UserRow | null> {
    const row = await queries(this.orm)
      .insertInto('users')
      .values({ email: user.email, name: user.name, password_hash: user.passwordHash })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning(['id', 'email', 'name'])
      .executeTakeFirst();
    return row ?? null;
  }

  async findUser(email: string): Promise<UserRow | null> {
    const row = await queries(this.orm).selectFrom('users').select(['id', 'email', 'name']).where('email', '=', email).executeTakeFirst();
    return row ?? null;
  }

  /** The user with the password hash, for sign-in only. */
  async findCredentials(email: string): Promise<(UserRow & { password_hash: string }) | null> {
    const row = await queries(this.orm)
      .selectFrom('users')
      .select(['id', 'email', 'name', 'password_hash'])
      .where('email', '=', email)
      .executeTakeFirst();
    return row ?? null;
  }

  /** Adds a member, or changes the role of an existing one. */
  async upsertMembership(tenantId: string, userId: string, role: Role): Promise<void> {
    await queries(this.orm)
      .insertInto('memberships')
      .values({ tenant_id: tenantId, user_id: userId, role })
      .onConflict((oc) => oc.columns(['tenant_id', 'user_id']).doUpdateSet((eb) => ({ role: eb.ref('excluded.role') })))
      .execute();
  }

  /** False when there was no such membership. */
  async deleteMembership(tenantId: string, userId: string): Promise<boolean> {
    const rows = await queries(this.orm)
      .deleteFrom('memberships')
      .where('tenant_id', '=', tenantId)
      .where('user_id', '=', userId)
      .returning('id')
      .execute();
    return rows.length > 0;
  }

  /** Every membership of a user, by tenant slug. */
  async membershipsOf(userId: string): Promise<{ slug: string; name: string; role: Role }[]> {
    return queries(this.orm)
      .selectFrom('memberships as m')
      .innerJoin('tenants as t', 't.id', 'm.tenant_id')
      .select(['t.slug', 't.name', 'm.role'])
      .where('m.user_id', '=', userId)
      .orderBy('t.slug')
      .execute();
  }

  /** Every membership of a user as a JSON array, as a subquery another statement (token resolution) embeds. */
  membershipsJsonOf(userId: Expression<string | null>) {
    return jsonArrayFrom(
      queries(this.orm)
        .selectFrom('memberships as m')
        .innerJoin('tenants as mt', 'mt.id', 'm.tenant_id')
        .select(['mt.id', 'mt.slug', 'mt.name', 'm.role'])
        .where('m.user_id', '=', userId as Expression<string>),
    );
  }

  /** The id of the user with this email when a member of the tenant. */
  async memberId(tenantId: string, email: string): Promise<string | null> {
    const row = await queries(this.orm)
      .selectFrom('users as u')
      .innerJoin('memberships as m', 'm.user_id', 'u.id')
      .select('u.id')
      .where('m.tenant_id', '=', tenantId)
      .where('u.email', '=', email)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /** Tenant slugs each of the given users is a member of. */
  async memberSlugs(userIds: string[]): Promise<{ user_id: string; slug: string }[]> {
    return queries(this.orm)
      .selectFrom('memberships as m')
      .innerJoin('tenants as t', 't.id', 'm.tenant_id')
      .select(['m.user_id', 't.slug'])
      .where('m.user_id', 'in', userIds)
      .execute();
  }
}
