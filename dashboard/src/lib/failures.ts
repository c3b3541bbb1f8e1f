// A run's sanitized failures, grouped by reason code for the detail page, and exported as CSV or JSON.
import type { RunView } from '../../../server/live/events.ts';

export type Failure = NonNullable<RunView['failures']>[number];
export type FailureGroup = { code: string; count: number; messages: string[]; items: string[] };

/** Codes with the most failures first; per code its distinct messages and the item ids, in order. */
export function groupFailures(failures: readonly Failure[]): FailureGroup[] {
  const groups = new Map<string, { count: number; messages: Set<string>; items: string[] }>();
  for (const failure of failures) {
    let group = groups.get(failure.code);
    if (!group) groups.set(failure.code, (group = { count: 0, messages: new Set(), items: [] }));
    group.count += 1;
    group.messages.add(failure.message);
    if (failure.item !== undefined) group.items.push(failure.item);
  }
  return [...groups.entries()]
    .map(([code, g]) => ({ code, count: g.count, messages: [...g.messages], items: g.items }))
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
}

/** One CSV cell: quoted, and never read as a formula by a spreadsheet. */
function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replaceAll('"', '""')}"`;
}

export function failuresCsv(failures: readonly Failure[]): string {
  const lines = ['code,message,item', ...failures.map((f) => [f.code, f.message, f.item ?? ''].map(cell).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export function failuresJson(run: Pick<RunView, 'id' | 'type' | 'failureCount'>, failures: readonly Failure[]): string {
  return `${JSON.stringify({ run: run.id, type: run.type, failureCount: run.failureCount, failures }, null, 2)}\n`;
}
