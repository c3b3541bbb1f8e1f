// axe-core in the browser suite: the WCAG 2 A and AA rules on whatever a page shows at that moment. Each
// violation is reported by rule, element and, for contrast, the measured numbers, so a failure says what to fix.
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SCRIPT = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa'];

/**
 * What axe measured for a contrast failure: text against its background (`color-contrast`), or a link's colour
 * against the text around it (`link-in-text-block`).
 */
export type Contrast = { ratio: number; required: string; colors: string; font: string | null };
export type AxeNode = { target: string; summary: string; contrast: Contrast | null };
export type AxeViolation = { id: string; impact: string | null; nodes: AxeNode[] };

/**
 * Runs axe-core on the page as it is. The page's CSP allows no inline script, so the context must be made
 * with `bypassCSP` (see `newPage`) for the injected copy to run.
 */
export async function audit(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => typeof (globalThis as any).axe === 'object'))) await page.addScriptTag({ path: AXE_SCRIPT });
  // Runs in the page: `globalThis` is its window (this file is typed for Node, without the DOM).
  return page.evaluate(async (tags) => {
    const win = globalThis as any;
    const results = await win.axe.run(win.document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return results.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.map((n: any) => {
        const data = [...n.any, ...n.all, ...n.none].find((check: any) => check.data?.contrastRatio !== undefined)?.data;
        return {
          target: n.target.map((t: unknown) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(' '),
          summary: String(n.failureSummary ?? '').replace(/\s+/g, ' ').trim(),
          contrast: data
            ? {
                ratio: data.contrastRatio,
                required: String(data.expectedContrastRatio ?? data.requiredContrastRatio ?? '?'),
                colors: data.fgColor ? `${data.fgColor} on ${data.bgColor}` : `${data.nodeColor} beside ${data.parentColor}`,
                font: data.fontSize ? `${data.fontSize} ${data.fontWeight}` : null,
              }
            : null,
        };
      }),
    }));
  }, TAGS);
}

/** One line per failing element: `rule (impact) target — measured contrast or axe's summary`. */
export function describeViolations(where: string, violations: readonly AxeViolation[]): string[] {
  return violations.flatMap((v) =>
    v.nodes.map((n) => {
      const c = n.contrast;
      const detail = c ? `contrast ${c.ratio}:1 (${[c.colors, c.font].filter(Boolean).join(', ')}), needs ${c.required}` : n.summary;
      return `${where}: ${v.id} (${v.impact ?? 'n/a'}) ${n.target} — ${detail}`;
    }),
  );
}
