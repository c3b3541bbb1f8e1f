// Policies as the inventory, drift and backup pages show them (docs/api.md §10): the inventory's filters in
// the URL (?q=<search>&type=<policy type>), policy types in words, settings hashes and field values. Pure.
import type { InventoryPage } from '../../../server/http/contract.ts';

export type InventoryPolicy = InventoryPage['policies'][number];
export type InventoryFilter = { q: string; policyType: string };

/** The API's bounds of `q` and `policyType` (server/http/contract.ts inventoryQuery). */
const MAX_Q = 200;
const MAX_TYPE = 200;

export function parseInventoryFilter(params: Pick<URLSearchParams, 'get'>): InventoryFilter {
  return { q: (params.get('q') ?? '').slice(0, MAX_Q), policyType: (params.get('type') ?? '').slice(0, MAX_TYPE) };
}

/** The query string of a filter (empty values left out, so the plain page has a plain URL). */
export function inventorySearch(filter: InventoryFilter): string {
  const params = new URLSearchParams();
  if (filter.q) params.set('q', filter.q);
  if (filter.policyType) params.set('type', filter.policyType);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** What is sent: the search without surrounding spaces. */
export function inventoryQuery(filter: InventoryFilter): { q: string; policyType: string } {
  return { q: filter.q.trim(), policyType: filter.policyType };
}

export function sameInventoryFilter(a: InventoryFilter, b: InventoryFilter): boolean {
  return a.q.trim() === b.q.trim() && a.policyType === b.policyType;
}

const PLATFORM_WORDS: Record<string, string> = { ios: 'iOS', 'mac os': 'macOS', macos: 'macOS', ipad: 'iPadOS', 'windows phone': 'Windows Phone' };

/**
 * A Graph type in words: `#microsoft.graph.windows10GeneralConfiguration` → `Windows 10 general configuration`,
 * `#microsoft.graph.macOSCompliancePolicy` → `macOS compliance policy`. Other types are shown as they are.
 */
export function policyTypeLabel(policyType: string): string {
  const match = /^#?microsoft\.graph\.([A-Za-z0-9]+)$/.exec(policyType);
  if (!match) return policyType || 'Unknown type';
  const words = match[1]!
    .replace(/([a-z])([A-Z0-9])/g, '$1 $2')
    .replace(/([0-9])([A-Za-z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase();
  for (const [plain, brand] of Object.entries(PLATFORM_WORDS)) {
    if (words === plain || words.startsWith(`${plain} `)) return brand + words.slice(plain.length);
  }
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The first 12 hex digits of a settings hash: enough to tell captures apart at a glance. */
export function hashPrefix(hash: string): string {
  return hash.slice(0, 12);
}

/** A field value of a diff (already sanitized and cut by the server); null: the field is absent on that side. */
export function fieldValue(value: string | null): string {
  return value === null ? '(absent)' : value === '' ? '(empty)' : value;
}
