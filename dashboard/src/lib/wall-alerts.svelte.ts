// A wall's alerts as its views read them (the rules are wall-alerts.ts): the alerts still highlighted, and
// the tone of `?sound=1`, made in the page by a Web Audio oscillator (no audio file to fetch or to allow).
import { runLabel } from './vocabulary.ts';
import { AlertBook, ALERT_FOR_MS, type Alert } from './wall-alerts.ts';
import type { RunSummary } from './overview-merge.ts';
import type { Bucket } from './vocabulary.ts';

export type { Alert };

export class WallAlerts {
  /** Alerts raised and not acknowledged, newest first; `of` leaves out those older than 5 minutes. */
  active = $state.raw<readonly Alert[]>([]);
  /** Tones played since the page opened. */
  tones = $state(0);
  /** The browser holds sound back until someone interacts with the page (its autoplay policy). */
  soundBlocked = $state(false);

  readonly sound: boolean;
  readonly #book: AlertBook;
  #audio: AudioContext | null = null;

  constructor(options: { buckets: readonly Bucket[]; sound: boolean }) {
    this.#book = new AlertBook(options.buckets);
    this.sound = options.sound;
  }

  /** Opens the audio output early, so a browser that needs a first click can say so before any alert. */
  start(): void {
    if (!this.sound || typeof AudioContext === 'undefined') return;
    this.#audio = new AudioContext();
    this.soundBlocked = this.#audio.state !== 'running';
    this.#audio.onstatechange = () => {
      this.soundBlocked = this.#audio?.state !== 'running';
    };
  }

  dispose(): void {
    void this.#audio?.close().catch(() => undefined);
    this.#audio = null;
  }

  /** A user's gesture: the moment a browser allows sound to start. */
  unlock(): void {
    if (this.#audio?.state === 'suspended') void this.#audio.resume().catch(() => undefined);
  }

  /** A run that newly ended in `tenant` (the tiles' judgement); alerts if its outcome is one alerted on. */
  raise(tenant: string, run: RunSummary, now = Date.now()): Alert | null {
    const { alert, tone } = this.#book.raise(tenant, run, runLabel(run), now);
    if (!alert) return null;
    this.active = this.#book.active(now);
    if (tone && this.sound) this.#beep();
    return alert;
  }

  acknowledge(tenant: string | null = null): void {
    this.#book.acknowledge(tenant);
    this.active = this.#book.active(Date.now());
  }

  /** A tenant's alerts still highlighted at `now`, newest first. */
  of(tenant: string, now: number): Alert[] {
    return this.active.filter((a) => a.tenant === tenant && now - a.raisedAt < ALERT_FOR_MS);
  }

  /** Every alert still highlighted at `now`. */
  current(now: number): Alert[] {
    return this.active.filter((a) => now - a.raisedAt < ALERT_FOR_MS);
  }

  /** Two short falling notes, a little under half a second in all. */
  #beep(): void {
    const audio = this.#audio;
    if (!audio) return;
    this.tones += 1;
    const t = audio.currentTime;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.type = 'sine';
    oscillator.frequency.setValueAtTime(880, t);
    oscillator.frequency.setValueAtTime(660, t + 0.2);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.02);
    gain.gain.setValueAtTime(0.25, t + 0.36);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.45);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(t);
    oscillator.stop(t + 0.46);
  }
}
