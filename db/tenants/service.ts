import type { Role } from '../access/roles.ts';
import { hashPassword } from '../auth/passwords.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import { AppError, notFound } from '../errors.ts';
import type { Orm } from '../orm.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

const conflict = (message: string) => new AppError(409, 'conflict', message);
const invalid = (path: string, message: string) =>
  new AppError(400, 'validation_failed', message, [{ path, message }]);

/** Tenants, users and memberships: what the admin CLI (and tests) manage. */
export class TenantService {
  constructor(
    private readonly orm: Orm,
    private readonly changefeed: Changefeed,
  ) {}

  async createTenant(slug: string, name: string): Promise<{ id: string; slug: string; name: string }> {
    if (!SLUG.test(slug)) throw invalid('slug', 'A tenant slug is 1-64 lowercase letters, digits and dashes.');
    if (!name.trim() || name.length > 200) throw invalid('name', 'A tenant name is 1-200 characters.');
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `insert into tenants (slug, name) values (?, ?) on conflict (slug) do nothing returning id`,
      [slug, name.trim()],
    );
    if (!rows[0]) throw conflict(`Tenant "${slug}" already exists.`);
    return { id: rows[0].id, slug, name: name.trim() };
  }

  async findTenant(slug: string): Promise<{ id: string; slug: string; name: string } | null> {
    const [row] = await this.orm.em.fork().execute<{ id: string; slug: string; name: string }[]>(
      `select id, slug, name from tenants where slug = ?`,
      [slug],
    );
    return row ?? null;
  }

  /** `passwordHash` lets callers that create many users (tests, demo) hash once. */
  async createUser(input: { email: string; name: string; password?: string; passwordHash?: string }): Promise<{ id: string; email: string; name: string }> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email)) throw invalid('email', 'Not a valid email address.');
    if (!input.name.trim() || input.name.length > 200) throw invalid('name', 'A name is 1-200 characters.');
    if (!input.passwordHash && (!input.password || input.password.length < 8 || input.password.length > 200)) {
      throw invalid('password', 'A password is 8-200 characters.');
    }
    const hash = input.passwordHash ?? (await hashPassword(input.password!));
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `insert into users (email, name, password_hash) values (?, ?, ?) on conflict (email) do nothing returning id`,
      [email, input.name.trim(), hash],
    );
    if (!rows[0]) throw conflict(`User ${email} already exists.`);
    return { id: rows[0].id, email, name: input.name.trim() };
  }

  /** Adds a member, or changes the role of an existing one. */
  async addMember(tenantSlug: string, email: string, role: Role): Promise<void> {
    const { tenantId, userId } = await this.resolve(tenantSlug, email);
    await this.orm.em.fork().execute(
      `insert into memberships (tenant_id, user_id, role) values (?, ?, ?)
       on conflict (tenant_id, user_id) do update set role = excluded.role`,
      [tenantId, userId, role],
    );
  }

  /** Removes a member; live sockets of that user leave the tenant's room on every gateway. */
  async removeMember(tenantSlug: string, email: string): Promise<void> {
    const { tenantId, userId } = await this.resolve(tenantSlug, email);
    const rows = await this.orm.em.fork().execute<{ id: string }[]>(
      `delete from memberships where tenant_id = ? and user_id = ? returning id`,
      [tenantId, userId],
    );
    if (rows.length === 0) throw notFound('The membership');
    await this.changefeed.control({ type: 'membership:removed', tenant: tenantSlug, userId });
  }

  private async resolve(tenantSlug: string, email: string): Promise<{ tenantId: string; userId: string }> {
    const em = this.orm.em.fork();
    const [tenant] = await em.execute<{ id: string }[]>(`select id from tenants where slug = ?`, [tenantSlug]);
    if (!tenant) throw notFound(`Tenant "${tenantSlug}"`);
    const [user] = await em.execute<{ id: string }[]>(`select id from users where email = ?`, [email.trim().toLowerCase()]);
    if (!user) throw notFound(`User ${email}`);
    return { tenantId: tenant.id, userId: user.id };
  }
}
