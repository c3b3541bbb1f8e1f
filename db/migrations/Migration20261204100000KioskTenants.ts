import { Migration } from '@mikro-orm/migrations';

/**
 * Kiosk tokens bound to several tenants (docs/api.md §12): `kiosk_token_tenants` lists the tenants a kiosk token
 * reads. Every existing kiosk token moves its one tenant there, so it keeps reading exactly what it read; from
 * then on `auth_tokens.tenant_id` is an integration token's tenant only.
 */
export class Migration20261204100000KioskTenants extends Migration {
  override name = 'Migration20261204100000KioskTenants';

  override up(): void {
    this.addSql(`create table "kiosk_token_tenants" ("token_id" uuid not null, "tenant_id" uuid not null, primary key ("token_id", "tenant_id"));`);
    this.addSql(`create index "kiosk_token_tenants_tenant_id_index" on "kiosk_token_tenants" ("tenant_id");`);
    this.addSql(`alter table "kiosk_token_tenants" add constraint "kiosk_token_tenants_token_id_foreign" foreign key ("token_id") references "auth_tokens" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "kiosk_token_tenants" add constraint "kiosk_token_tenants_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`insert into "kiosk_token_tenants" ("token_id", "tenant_id") select "id", "tenant_id" from "auth_tokens" where "kind" = 'kiosk' and "tenant_id" is not null;`);
    this.addSql(`update "auth_tokens" set "tenant_id" = null where "kind" = 'kiosk';`);
  }
}
