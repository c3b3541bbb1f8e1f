import { cpus, totalmem, release } from 'node:os';

/** A target a figure is held to: `value <= max` (latency, memory) or `value >= min` (throughput). */
export type Target = { max?: number; min?: number; text?: string };

/** One measured figure, with the baseline measured beside it in the same run where there is one. */
export type Figure = {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run (the floor, a peer, the unoptimized path). */
  baseline?: { name: string; value: number };
  target?: Target;
  /** Anything else measured with it (p95, max, CPU…), kept in the JSON and shown in the detail column. */
  detail?: Record<string, number | string>;
};

export type SuiteResult = {
  id: string;
  title: string;
  figures: Figure[];
  /** Free text under the table: how it was measured, what limits it. */
  notes: string[];
  /** Preformatted blocks (EXPLAIN plans, profiles), titled. */
  blocks?: { title: string; text: string }[];
  /** Terminal transitions that never arrived (must be 0). */
  lost?: number;
  seconds?: number;
  /** When the suite finished (a report merged with `--merge` holds suites of several runs). */
  measuredAt?: string;
};

export type BenchOptions = { quick: boolean; long: boolean; log: (line: string) => void };

export type Suite = { id: string; title: string; run: (options: BenchOptions) => Promise<SuiteResult> };

export type MachineInfo = { date: string; node: string; cpu: string; cores: number; memoryGiB: number; kernel: string; postgres?: string; redis?: string };

export function machineInfo(extra: Partial<MachineInfo> = {}): MachineInfo {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    ...extra,
  };
}

export const ratioOf = (figure: Figure): number | null =>
  figure.baseline && figure.baseline.value > 0 ? Math.round((figure.value / figure.baseline.value) * 100) / 100 : null;

/** Whether a figure meets its target; null when it has none. */
export function meets(figure: Figure): boolean | null {
  if (!figure.target) return null;
  const { max, min } = figure.target;
  return (max === undefined || figure.value <= max) && (min === undefined || figure.value >= min);
}

const targetText = (target?: Target) =>
  !target ? '' : (target.text ?? [target.max !== undefined ? `≤ ${target.max}` : '', target.min !== undefined ? `≥ ${target.min}` : ''].join(' ').trim());

const cell = (value: unknown) => String(value ?? '').replaceAll('|', '\\|');

function figureRow(figure: Figure): string {
  const ratio = ratioOf(figure);
  const met = meets(figure);
  const detail = Object.entries(figure.detail ?? {})
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
  return `| ${[
    figure.name,
    `${figure.value} ${figure.unit}`,
    figure.baseline ? `${figure.baseline.value} ${figure.unit} (${figure.baseline.name})` : '—',
    ratio === null ? '—' : `${ratio}×`,
    targetText(figure.target) || '—',
    met === null ? '' : met ? 'met' : '**missed**',
    detail,
  ]
    .map(cell)
    .join(' | ')} |`;
}

/** The markdown report: machine, then one table (and notes, plans) per suite. */
export function renderMarkdown(machine: MachineInfo, results: SuiteResult[], command: string): string {
  const lines = [
    '# Runboard benchmarks',
    '',
    `Written by \`${command}\` on ${machine.date.slice(0, 10)}. Every figure stands beside a baseline measured in the same run;`,
    'the ratio is product ÷ baseline. Raw figures: [`benchmarks.json`](benchmarks.json).',
    '',
    '| machine | |',
    '|---|---|',
    `| CPU | ${machine.cpu} × ${machine.cores} |`,
    `| memory | ${machine.memoryGiB} GiB |`,
    `| kernel | ${machine.kernel} |`,
    `| Node.js | ${machine.node} |`,
    ...(machine.postgres ? [`| PostgreSQL | ${machine.postgres} |`] : []),
    ...(machine.redis ? [`| Redis | ${machine.redis} |`] : []),
    '',
  ];
  const targeted = results.flatMap((result) => result.figures.filter((figure) => figure.target).map((figure) => ({ result, figure })));
  if (targeted.length > 0) {
    lines.push('## Targets at a glance', '', 'Where a target is missed, the suite\'s notes give the measured reason.', '');
    lines.push('| suite | figure | value | target | | baseline |', '|---|---|---|---|---|---|');
    for (const { result, figure } of targeted) {
      const met = meets(figure);
      lines.push(
        `| ${[result.id, figure.name, `${figure.value} ${figure.unit}`, targetText(figure.target), met ? 'met' : '**missed**', figure.baseline ? `${figure.baseline.value} ${figure.unit} (${figure.baseline.name})` : '—']
          .map(cell)
          .join(' | ')} |`,
      );
    }
    lines.push('');
  }
  for (const result of results) {
    lines.push(`## ${result.title}`, '');
    if (result.measuredAt) lines.push(`Measured ${result.measuredAt.slice(0, 16).replace('T', ' ')} UTC in ${result.seconds ?? '?'} s.`, '');
    lines.push('| figure | value | baseline | ratio | target | | detail |', '|---|---|---|---|---|---|---|');
    lines.push(...result.figures.map(figureRow), '');
    if (result.lost !== undefined) lines.push(`Lost terminal transitions: **${result.lost}**.`, '');
    lines.push(...result.notes.flatMap((note) => [note, '']));
    for (const block of result.blocks ?? []) lines.push(`<details><summary>${block.title}</summary>`, '', '```', block.text, '```', '', '</details>', '');
  }
  return lines.join('\n');
}
