import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000Init } from './Migration20261123000000Init.ts';
import { Migration20261123140000RunEvents } from './Migration20261123140000RunEvents.ts';
import { Migration20261123170000RunListIndexes } from './Migration20261123170000RunListIndexes.ts';
import { Migration20261203000000DropRunAttempts } from './Migration20261203000000DropRunAttempts.ts';
import { Migration20261203100000PolicyModules } from './Migration20261203100000PolicyModules.ts';
import { Migration20261203180000RunInsight } from './Migration20261203180000RunInsight.ts';
import { Migration20261204000000Webhooks } from './Migration20261204000000Webhooks.ts';
import { Migration20261204100000KioskTenants } from './Migration20261204100000KioskTenants.ts';

/** Every migration, in order. Listed explicitly so they load the same under tsx and in bundles. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261123000000Init', class: Migration20261123000000Init },
  { name: 'Migration20261123140000RunEvents', class: Migration20261123140000RunEvents },
  { name: 'Migration20261123170000RunListIndexes', class: Migration20261123170000RunListIndexes },
  { name: 'Migration20261203000000DropRunAttempts', class: Migration20261203000000DropRunAttempts },
  { name: 'Migration20261203100000PolicyModules', class: Migration20261203100000PolicyModules },
  { name: 'Migration20261203180000RunInsight', class: Migration20261203180000RunInsight },
  { name: 'Migration20261204000000Webhooks', class: Migration20261204000000Webhooks },
  { name: 'Migration20261204100000KioskTenants', class: Migration20261204100000KioskTenants },
];
