import type { Role } from '../access/roles.ts';
import { hashPassword } from '../auth/passwords.ts';
import type { Changefeed } from '../changefeed/publisher.ts';
import { AppError, notFound } from '../errors.ts';
import type { TenantRow, TenantStore, UserRow } from './store.ts';

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

const conflict = (message: string) => new AppError(409, 'conflict', message);
const invalid = (path: string, message: string) =>
  new AppError(400, 'validation_failed', message, [{ path, message }]);

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();

/** Tenants, users and memberships: what the admin CLI (and tests) manage. */
export class TenantService {
  constructor(
    readonly store: TenantStore,
    private readonly changefeed: Changefeed,
  ) {}

  async createTenant(slug: string, name: string): Promise<TenantRow> {
    if (!SLUG.test(slug)) throw invalid('slug', 'A tenant slug is 1-64 lowercase letters, digits and dashes.');
    if (!name.trim() || name.length > 200) throw invalid('name', 'A tenant name is 1-200 characters.');
    const tenant = await this.store.insertTenant(slug, name.trim());
    if (!tenant) throw conflict(`Tenant "${slug}" already exists.`);
    return tenant;
  }

  async findTenant(slug: string): Promise<TenantRow | null> {
    return this.store.findTenant(slug);
  }

  async listTenants(): Promise<TenantRow[]> {
    return this.store.listTenants();
  }

  /** `passwordHash` lets callers that create many users (tests, demo) hash once. */
  async createUser(input: { email: string; name: string; password?: string; passwordHash?: string }): Promise<UserRow> {
    const email = normalizeEmail(input.email);
    if (!EMAIL.test(email)) throw invalid('email', 'Not a valid email address.');
    if (!input.name.trim() || input.name.length > 200) throw invalid('name', 'A name is 1-200 characters.');
    if (!input.passwordHash && (!input.password || input.password.length < 8 || input.password.length > 200)) {
      throw invalid('password', 'A password is 8-200 characters.');
    }
    const passwordHash = input.passwordHash ?? (await hashPassword(input.password!));
    const user = await this.store.insertUser({ email, name: input.name.trim(), passwordHash });
    if (!user) throw conflict(`User ${email} already exists.`);
    return user;
  }

  /** Adds a member, or changes the role of an existing one. */
  async addMember(tenantSlug: string, email: string, role: Role): Promise<void> {
    const { tenantId, userId } = await this.resolve(tenantSlug, email);
    await this.store.upsertMembership(tenantId, userId, role);
  }

  /** Removes a member; live sockets of that user leave the tenant's room on every gateway. */
  async removeMember(tenantSlug: string, email: string): Promise<void> {
    const { tenantId, userId } = await this.resolve(tenantSlug, email);
    if (!(await this.store.deleteMembership(tenantId, userId))) throw notFound('The membership');
    await this.changefeed.control({ type: 'membership:removed', tenant: tenantSlug, userId });
  }

  /** The member of the tenant with this email, or null for anyone else. */
  async memberId(tenantId: string, email: string): Promise<string | null> {
    return this.store.memberId(tenantId, normalizeEmail(email));
  }

  private async resolve(tenantSlug: string, email: string): Promise<{ tenantId: string; userId: string }> {
    const tenant = await this.store.findTenant(tenantSlug);
    if (!tenant) throw notFound(`Tenant "${tenantSlug}"`);
    const user = await this.store.findUser(normalizeEmail(email));
    if (!user) throw notFound(`User ${email}`);
    return { tenantId: tenant.id, userId: user.id };
  }
}
