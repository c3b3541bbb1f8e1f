// Measures, inside a real Chromium page, how long a `run:update` takes from the socket to the screen and what
// it costs the main thread. The probe is injected before any page script (page.addInitScript), so the page's
// own code is untouched: it wraps WebSocket to stamp each arriving `run:update` (run id + version), watches
// `data-version` attributes of `[data-run-id]` elements to stamp when the DOM shows that version (or a newer
// one), and notes the end of every rendered frame. Main-thread time comes from the DevTools protocol.
import type { CDPSession, Page } from 'playwright-core';
import { round, summarize, type Summary } from './stats.ts';

/**
 * Plain browser JavaScript, kept as text: a serialized TypeScript function would carry the loader's
 * helpers (e.g. esbuild's `__name`) into a page that does not define them.
 */
const PROBE_SCRIPT = String.raw`(() => {
  const probe = { recording: false, received: 0, pending: new Map(), shown: [], frames: [], rafs: [], longTasks: [] };
  window.__runboardProbe = probe;

  // 1. Arrival: a Socket.IO event packet '42["run:update",{"tenant":…,"run":{"id":"<uuid>",…,"version":N,…}}]'.
  // Our listener is added in the constructor, before the page sets onmessage, so it runs first.
  const NativeWebSocket = window.WebSocket;
  const RUN_START = '"run":{"id":"';
  const stamp = (event) => {
    if (!probe.recording || typeof event.data !== 'string' || !event.data.startsWith('42["run:update"')) return;
    const at = performance.now();
    const data = event.data;
    const start = data.indexOf(RUN_START);
    if (start < 0) return;
    const id = data.slice(start + RUN_START.length, start + RUN_START.length + 36);
    const version = /"version":(\d+)/.exec(data.slice(start));
    if (!version) return;
    probe.received++;
    const list = probe.pending.get(id) ?? [];
    list.push([Number(version[1]), at]);
    probe.pending.set(id, list);
  };
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', stamp);
    }
  };

  // 2. Shown: the DOM now carries this version (or a newer one) of the run; every waiting arrival it covers
  // is resolved, so coalesced updates count as shown when their successor is.
  const onMutations = (records) => {
    const at = performance.now();
    for (const record of records) {
      const element = record.target;
      const id = element.getAttribute('data-run-id');
      const version = Number(element.getAttribute('data-version'));
      const list = id && probe.pending.get(id);
      if (!list) continue;
      const left = [];
      for (const entry of list) {
        if (entry[0] <= version) probe.shown.push([entry[1], at]);
        else left.push(entry);
      }
      if (left.length > 0) probe.pending.set(id, left);
      else probe.pending.delete(id);
    }
  };
  // The document itself, not its root element: it survives document.open() (the floor page is written in).
  new MutationObserver(onMutations).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-version'] });

  // 3. Frames: the moment after each rendering update (a message posted from rAF runs once the frame is done).
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    if (probe.recording) probe.frames.push(performance.now());
  };
  const tick = (time) => {
    if (probe.recording) probe.rafs.push(time);
    channel.port2.postMessage(0);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);

  try {
    new PerformanceObserver((list) => {
      if (!probe.recording) return;
      for (const entry of list.getEntries()) probe.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  } catch {
    // no Long Tasks API: longTasks stays empty
  }
})();`;

/** Stops recording, hands over what was recorded and starts afresh (an expression evaluated in the page). */
const TAKE_RESULTS = String.raw`(() => {
  const probe = window.__runboardProbe;
  probe.recording = false;
  let unresolved = 0;
  for (const list of probe.pending.values()) unresolved += list.length;
  const result = { received: probe.received, unresolved, shown: probe.shown, frames: probe.frames, rafs: probe.rafs, longTasks: probe.longTasks };
  Object.assign(probe, { received: 0, shown: [], frames: [], rafs: [], longTasks: [], pending: new Map() });
  return result;
})()`;

type ProbeData = { received: number; unresolved: number; shown: [number, number][]; frames: number[]; rafs: number[]; longTasks: number[] };

/** What one measured window showed. */
export type PageWindow = {
  /** `run:update` messages that reached the page during the window. */
  received: number;
  /** Updates whose version (or a newer one) reached the DOM. */
  shown: number;
  /** Updates still waiting for the DOM when the window closed (or for runs the page does not show). */
  unresolved: number;
  /** Arrival → the DOM carries the version. */
  toDom: Summary;
  /** Arrival → the end of the first frame rendered after that DOM change (what a person can see). */
  toFrame: Summary;
  /** Main-thread CPU milliseconds per received update: all renderer main-thread tasks in the window ÷ updates. */
  mainMsPerUpdate: number;
  /** The same, split: script, style recalculation, layout. */
  scriptMsPerUpdate: number;
  styleMsPerUpdate: number;
  layoutMsPerUpdate: number;
  /** Share of the main thread busy over the window (1 = always busy). */
  mainBusy: number;
  /** CPU milliseconds of the whole renderer process (main, compositor and raster threads) per update. */
  rendererMsPerUpdate: number;
  /** Frames rendered per second, and vsync intervals missed (frames that came later than one interval). */
  fps: number;
  droppedFrames: number;
  longTasks: number;
  longTaskMs: number;
  seconds: number;
};

/** One window in a line, for the log and the notes. */
export const describeWindow = (w: PageWindow) =>
  `${w.received} updates in ${w.seconds} s, main ${w.mainMsPerUpdate} ms/update (script ${w.scriptMsPerUpdate}, style ${w.styleMsPerUpdate}, layout ${w.layoutMsPerUpdate}), ` +
  `busy ${Math.round(w.mainBusy * 100)}%, renderer ${w.rendererMsPerUpdate} ms/update, DOM p50/p95/p99 ${w.toDom.p50}/${w.toDom.p95}/${w.toDom.p99} ms, frame p50/p95 ${w.toFrame.p50}/${w.toFrame.p95} ms, ` +
  `shown ${w.shown}, ${w.fps} fps, ${w.droppedFrames} dropped frames, ${w.longTasks} long tasks`;

export class PageProbe {
  private constructor(
    private readonly page: Page,
    private readonly cdp: CDPSession,
  ) {}

  /** Injects the probe into every document `page` loads from now on; call before navigating. */
  static async attach(page: Page): Promise<PageProbe> {
    await page.addInitScript(PROBE_SCRIPT);
    const cdp = await page.context().newCDPSession(page);
    // Thread ticks: durations are CPU time of the page's main thread, so a busy shared machine (which delays the
    // thread without making its work bigger) does not inflate them the way wall-clock durations would be.
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    return new PageProbe(page, cdp);
  }

  async #metrics(): Promise<Record<string, number>> {
    const { metrics } = await this.cdp.send('Performance.getMetrics');
    return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
  }

  /** Records for `ms` milliseconds and summarizes. */
  async measure(ms: number): Promise<PageWindow> {
    await this.page.evaluate('window.__runboardProbe.recording = true');
    const before = await this.#metrics();
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const after = await this.#metrics();
    const seconds = (performance.now() - startedAt) / 1000;
    const data = await this.page.evaluate<ProbeData>(TAKE_RESULTS);
    const delta = (name: string) => ((after[name] ?? 0) - (before[name] ?? 0)) * 1000;
    const perUpdate = (name: string) => (data.received > 0 ? round(delta(name) / data.received, 3) : 0);
    return {
      received: data.received,
      shown: data.shown.length,
      unresolved: data.unresolved,
      toDom: summarize(data.shown.map(([arrived, shown]) => shown - arrived)),
      toFrame: summarize(data.shown.map(([arrived, shown]) => frameAfter(data.frames, shown) - arrived).filter(Number.isFinite)),
      mainMsPerUpdate: perUpdate('TaskDuration'),
      scriptMsPerUpdate: perUpdate('ScriptDuration'),
      styleMsPerUpdate: perUpdate('RecalcStyleDuration'),
      layoutMsPerUpdate: perUpdate('LayoutDuration'),
      mainBusy: round(delta('TaskDuration') / 1000 / seconds, 3),
      rendererMsPerUpdate: perUpdate('ProcessTime'),
      fps: round(data.rafs.length / seconds, 1),
      droppedFrames: droppedFrames(data.rafs),
      longTasks: data.longTasks.length,
      longTaskMs: round(data.longTasks.reduce((sum, d) => sum + d, 0)),
      seconds: round(seconds, 1),
    };
  }

  /** A sampling CPU profile of the page for `ms`: the functions with the most self time, as text. */
  async profile(ms: number, top = 15): Promise<string> {
    await this.cdp.send('Profiler.enable');
    await this.cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await this.cdp.send('Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, ms));
    const { profile } = await this.cdp.send('Profiler.stop');
    await this.cdp.send('Profiler.disable');
    const self = new Map<string, number>();
    const intervals = profile.timeDeltas ?? [];
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let total = 0;
    (profile.samples ?? []).forEach((id, index) => {
      const node = byId.get(id);
      const us = intervals[index + 1] ?? 0;
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      const file = url.split('/').pop() ?? '';
      const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
      self.set(key, (self.get(key) ?? 0) + us);
      total += us;
    });
    const rows = [...self.entries()].filter(([key]) => key !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
    return rows.map(([key, us]) => `${(us / 1000).toFixed(1).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`).join('\n');
  }

  /**
   * A DevTools timeline trace of the page for `ms`: main-thread self time by event (script, style, layout,
   * paint, commit…), so native rendering work shows where a JavaScript profile only says "(program)".
   */
  async trace(ms: number, top = 15): Promise<string> {
    const events: TraceEvent[] = [];
    const collect = ({ value }: { value: object[] }) => void events.push(...(value as TraceEvent[]));
    this.cdp.on('Tracing.dataCollected', collect);
    const complete = new Promise<void>((resolve) => this.cdp.once('Tracing.tracingComplete', () => resolve()));
    await this.cdp.send('Tracing.start', {
      transferMode: 'ReportEvents',
      traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8.execute', 'blink'] },
    });
    await new Promise((resolve) => setTimeout(resolve, ms));
    await this.cdp.send('Tracing.end');
    await complete;
    this.cdp.off('Tracing.dataCollected', collect);
    return selfTimeTable(events, ms, top);
  }

  async detach(): Promise<void> {
    await this.cdp.detach().catch(() => undefined);
  }
}

/** The first frame end at or after `at` (frames are in time order); Infinity when none came. */
function frameAfter(frames: number[], at: number): number {
  let low = 0;
  let high = frames.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (frames[mid]! < at) low = mid + 1;
    else high = mid;
  }
  return frames[low] ?? Infinity;
}

const VSYNC_MS = 1000 / 60;

/** Vsync intervals between consecutive rAF callbacks that produced no frame. */
function droppedFrames(rafs: number[]): number {
  let dropped = 0;
  for (let i = 1; i < rafs.length; i++) dropped += Math.max(0, Math.round((rafs[i]! - rafs[i - 1]!) / VSYNC_MS) - 1);
  return dropped;
}

type TraceEvent = { name: string; ph: string; ts: number; dur?: number; tdur?: number; pid: number; tid: number; args?: { name?: string } };

/** Self CPU time per event name on the renderer main thread (complete events nested by time), as text. */
function selfTimeTable(events: TraceEvent[], ms: number, top: number): string {
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  if (!main) return 'no renderer main thread in the trace';
  const slices = events
    .filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur !== undefined)
    .sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const self = new Map<string, { us: number; n: number }>();
  const stack: { end: number; name: string }[] = [];
  const add = (name: string, us: number, n = 0) => {
    const entry = self.get(name) ?? { us: 0, n: 0 };
    self.set(name, { us: entry.us + us, n: entry.n + n });
  };
  for (const slice of slices) {
    while (stack.length > 0 && stack.at(-1)!.end <= slice.ts) stack.pop();
    const cpu = slice.tdur ?? slice.dur!;
    add(slice.name, cpu, 1);
    // A child's time is its own, not its parent's.
    if (stack.length > 0) add(stack.at(-1)!.name, -cpu);
    stack.push({ end: slice.ts + slice.dur!, name: slice.name });
  }
  const rows = [...self.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, top);
  return rows
    .map(([name, { us, n }]) => `${(us / 1000).toFixed(1).padStart(8)} ms  ${((us / 1000 / ms) * 100).toFixed(1).padStart(5)}% of the window  ${String(n).padStart(6)}×  ${name}`)
    .join('\n');
}
