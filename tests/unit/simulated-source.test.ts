import { describe, expect, it } from 'vitest';
import { policySourceInput, simulatedSettings, SIMULATED_LIMITS } from '../../db/sources/schema.ts';
import { SIMULATED_PAGE_SIZE, SimulatedSource, simulatedExternalId } from '../../db/sources/simulated.ts';
import { settingsHash, SourceError, type ListedItem, type SourcePolicy } from '../../db/sources/source.ts';

// The simulated source (docs/api.md §10): a pure function of the tenant slug and its settings.

async function listAll(source: SimulatedSource): Promise<{ pages: ListedItem[][]; items: ListedItem[] }> {
  const pages: ListedItem[][] = [];
  for await (const page of source.list()) pages.push(page);
  return { pages, items: pages.flat() };
}

async function snapshot(slug: string, settings: ConstructorParameters<typeof SimulatedSource>[1]): Promise<Map<string, SourcePolicy>> {
  const { items } = await listAll(new SimulatedSource(slug, settings));
  return new Map(items.filter((i): i is Extract<ListedItem, { ok: true }> => i.ok).map((i) => [i.policy.externalId, i.policy]));
}

/** What changed from one snapshot to the next, the way drift compares them. */
function diff(before: Map<string, SourcePolicy>, after: Map<string, SourcePolicy>) {
  const added = [...after.keys()].filter((id) => !before.has(id));
  const removed = [...before.keys()].filter((id) => !after.has(id));
  const modified = [...after.keys()].filter((id) => before.has(id) && settingsHash(before.get(id)!.settings) !== settingsHash(after.get(id)!.settings));
  return { added, removed, modified };
}

describe('simulated source', () => {
  it('has 40 policies of several Intune-like types by default, with realistic settings', async () => {
    const policies = [...(await snapshot('acme', {})).values()];
    expect(policies).toHaveLength(SIMULATED_LIMITS.policies.default);
    const types = new Set(policies.map((p) => p.policyType));
    expect(types.size).toBeGreaterThanOrEqual(4);
    for (const type of types) expect(type).toMatch(/^#microsoft\.graph\.[A-Za-z0-9]+$/);
    for (const policy of policies) {
      expect(policy.externalId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(policy.name.length).toBeGreaterThan(5);
      expect(Date.parse(policy.lastModified!)).not.toBeNaN();
      const values = Object.values(policy.settings);
      expect(values.some((v) => typeof v === 'boolean')).toBe(true);
      expect(values.some((v) => typeof v === 'number')).toBe(true);
      expect(values.some((v) => typeof v === 'string')).toBe(true);
    }
    const all = policies.flatMap((p) => Object.values(p.settings));
    expect(all.some((v) => Array.isArray(v))).toBe(true);
    expect(all.some((v) => v !== null && typeof v === 'object' && !Array.isArray(v))).toBe(true);
    expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
  });

  it('is deterministic: the same slug and settings always give the same content; another slug other content', async () => {
    const a = await listAll(new SimulatedSource('acme', { policies: 250, revision: 17 }));
    const b = await listAll(new SimulatedSource('acme', { policies: 250, revision: 17 }));
    expect(JSON.stringify(b.items)).toBe(JSON.stringify(a.items));
    const other = await snapshot('globex', { policies: 250, revision: 17 });
    const ids = a.items.map((i) => (i.ok ? i.policy.externalId : i.externalId));
    expect(ids.some((id) => other.has(id))).toBe(false);
    expect(simulatedExternalId('acme', 3)).toBe(simulatedExternalId('acme', 3));
  });

  it.each([3, 4, 40, 500])('revision r → r+1 differs by exactly one added, one removed and two modified (%i policies)', async (policies) => {
    let before = await snapshot('acme', { policies, revision: 0 });
    for (let revision = 1; revision <= 12; revision++) {
      const after = await snapshot('acme', { policies, revision });
      const { added, removed, modified } = diff(before, after);
      expect({ revision, added: added.length, removed: removed.length, modified: modified.length }).toEqual({ revision, added: 1, removed: 1, modified: 2 });
      for (const id of modified) expect(after.get(id)!.lastModified).not.toBe(before.get(id)!.lastModified);
      before = after;
    }
  });

  it('with fewer than 3 policies a step modifies what survives (1 or none)', async () => {
    for (const [policies, survivors] of [[1, 0], [2, 1]] as const) {
      const { added, removed, modified } = diff(await snapshot('acme', { policies, revision: 4 }), await snapshot('acme', { policies, revision: 5 }));
      expect({ added: added.length, removed: removed.length, modified: modified.length }).toEqual({ added: 1, removed: 1, modified: survivors });
    }
  });

  it('a far revision is computed in bounded time (O(policies + revision)) and still steps by +1/−1/2', async () => {
    const started = performance.now();
    const a = await snapshot('acme', { policies: 1000, revision: SIMULATED_LIMITS.revision.max - 1 });
    const b = await snapshot('acme', { policies: 1000, revision: SIMULATED_LIMITS.revision.max });
    expect(performance.now() - started).toBeLessThan(5_000);
    const { added, removed, modified } = diff(a, b);
    expect([added.length, removed.length, modified.length]).toEqual([1, 1, 2]);
  });

  it('lists 20 000 policies fast, in pages of at most 100', async () => {
    const started = performance.now();
    let count = 0;
    let pages = 0;
    for await (const page of new SimulatedSource('acme', { policies: 20_000, revision: 50 }).list()) {
      expect(page.length).toBeLessThanOrEqual(SIMULATED_PAGE_SIZE);
      count += page.length;
      pages += 1;
    }
    const elapsed = performance.now() - started;
    console.log(`[simulated] 20000 policies in ${pages} pages, ${Math.round(elapsed)} ms`);
    expect(count).toBe(20_000);
    expect(pages).toBe(200);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('failItems: listing and get() give source_item_unreadable for those ids; apply() refuses them', async () => {
    const ids = [simulatedExternalId('acme', 2), simulatedExternalId('acme', 7)];
    const source = new SimulatedSource('acme', { failItems: [...ids, 'not-an-id-here'] });
    const { items } = await listAll(source);
    expect(items).toHaveLength(40);
    const failed = items.filter((i): i is Extract<ListedItem, { ok: false }> => !i.ok);
    expect(failed.map((i) => i.externalId).sort()).toEqual([...ids].sort());
    expect(failed.every((i) => i.code === 'source_item_unreadable')).toBe(true);
    expect(await source.get(ids[0]!)).toMatchObject({ ok: false, code: 'source_item_unreadable', externalId: ids[0] });
    const readable = await source.get(simulatedExternalId('acme', 3));
    expect(readable).toMatchObject({ ok: true, policy: { externalId: simulatedExternalId('acme', 3) } });
    await expect(source.apply({ externalId: ids[1]!, policyType: 'x', name: 'x', settings: {} })).rejects.toMatchObject({ code: 'source_apply_failed' });
  });

  it('get() of a policy removed by a later revision, or never there, is policy_not_found', async () => {
    const source = new SimulatedSource('acme', { revision: 3 });
    expect(await source.get(simulatedExternalId('acme', 0))).toMatchObject({ ok: false, code: 'policy_not_found' });
    expect(await source.get('nope')).toMatchObject({ ok: false, code: 'policy_not_found' });
    expect(await source.get(simulatedExternalId('acme', 3))).toMatchObject({ ok: true });
  });

  it('apply() accepts and forgets: the content stays a function of the revision', async () => {
    const source = new SimulatedSource('acme', {});
    const [first] = (await listAll(source)).items;
    if (!first?.ok) throw new Error('expected a policy');
    await source.apply({ ...first.policy, settings: { changed: true } });
    expect(await source.get(first.policy.externalId)).toEqual(first);
  });

  it('unavailable: every call throws SourceError source_unavailable', async () => {
    const source = new SimulatedSource('acme', { unavailable: true });
    const iterate = async () => {
      for await (const page of source.list()) void page;
    };
    await expect(iterate()).rejects.toBeInstanceOf(SourceError);
    await expect(iterate()).rejects.toMatchObject({ code: 'source_unavailable' });
    await expect(source.get('x')).rejects.toMatchObject({ code: 'source_unavailable' });
    await expect(source.apply({ externalId: 'x', policyType: 'x', name: 'x', settings: {} })).rejects.toMatchObject({ code: 'source_unavailable' });
  });

  it('stops between pages when its signal aborts', async () => {
    const controller = new AbortController();
    const iterate = async () => {
      let pages = 0;
      for await (const page of new SimulatedSource('acme', { policies: 1000 }).list(controller.signal)) {
        void page;
        if (++pages === 2) controller.abort(new Error('run stopped'));
      }
    };
    await expect(iterate()).rejects.toThrow('run stopped');
  });

  it('bounds its settings', () => {
    const ok = (value: unknown) => simulatedSettings.safeParse(value).success;
    expect(ok({})).toBe(true);
    expect(ok({ policies: 1, revision: 0, failItems: [], unavailable: false })).toBe(true);
    expect(ok({ policies: 20_000, revision: 100_000 })).toBe(true);
    for (const bad of [
      { policies: 0 },
      { policies: 20_001 },
      { policies: 1.5 },
      { revision: -1 },
      { revision: 100_001 },
      { failItems: Array.from({ length: 1001 }, (_, i) => `id-${i}`) },
      { failItems: [''] },
      { failItems: ['a\0b'] },
      { unavailable: 'yes' },
      { extra: true },
    ]) {
      expect(ok(bad), JSON.stringify(bad).slice(0, 60)).toBe(false);
    }
    expect(policySourceInput.safeParse({ kind: 'simulated' }).success).toBe(true);
    expect(policySourceInput.safeParse({ kind: 'simulated', baseUrl: 'https://x' }).success).toBe(false);
  });
});
