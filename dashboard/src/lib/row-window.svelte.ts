/**
 * Renders only the rows of a long, page-scrolled table that are near the viewport (the board holds up to
 * thousands after "Load more"). Painting and compositing every row of a 500-row table was most of the
 * board's main-thread time per live update (docs/benchmarks.md); the rows out of view are replaced by two
 * spacer rows of the same height, so the scrollbar and the page stay as they were.
 *
 * Rows have one fixed height (the board's rows do), measured from a rendered row. Short tables (up to
 * `minRows`) are rendered whole: nothing to gain, and every row stays in the DOM for find-in-page.
 */
export class RowWindow {
  /** First rendered row and one past the last one. */
  start = $state(0);
  end = $state(Number.POSITIVE_INFINITY);

  #body: HTMLElement | null = null;
  #rowPx = 0;
  #count = 0;
  #frame = 0;

  constructor(
    private readonly minRows = 120,
    /** Rows rendered beyond each edge of the viewport, so a quick scroll never shows a gap. */
    private readonly overscan = 20,
  ) {}

  /** Whether rows are windowed at all for `count` rows. */
  active(count: number): boolean {
    return count > this.minRows;
  }

  /** Height in px above and below the rendered rows. */
  spacers(count: number): { top: number; bottom: number } {
    if (!this.active(count) || this.#rowPx === 0) return { top: 0, bottom: 0 };
    const end = Math.min(count, this.end);
    return { top: this.start * this.#rowPx, bottom: Math.max(0, count - end) * this.#rowPx };
  }

  /** Svelte attachment for the table body: follows scrolling and resizing until the body goes. */
  attach = (body: HTMLElement) => {
    this.#body = body;
    const schedule = () => {
      this.#frame ||= requestAnimationFrame(() => {
        this.#frame = 0;
        this.#measure();
      });
    };
    window.addEventListener('scroll', schedule, { passive: true });
    window.addEventListener('resize', schedule);
    schedule();
    return () => {
      window.removeEventListener('scroll', schedule);
      window.removeEventListener('resize', schedule);
      cancelAnimationFrame(this.#frame);
      this.#frame = 0;
      this.#body = null;
    };
  };

  /** Called whenever the number of rows changes. */
  update(count: number): void {
    this.#count = count;
    this.#measure();
  }

  #measure(): void {
    const body = this.#body;
    if (!body || !this.active(this.#count)) {
      this.start = 0;
      this.end = Number.POSITIVE_INFINITY;
      return;
    }
    const row = body.querySelector<HTMLElement>('tr[data-run-id]');
    if (row) this.#rowPx = row.getBoundingClientRect().height || this.#rowPx;
    if (this.#rowPx === 0) {
      // Nothing measured yet: render a first screenful, measure on the next frame.
      this.start = 0;
      this.end = this.overscan * 2;
      return;
    }
    const top = body.getBoundingClientRect().top; // the body's top relative to the viewport
    const first = Math.floor(-top / this.#rowPx) - this.overscan;
    const last = Math.ceil((window.innerHeight - top) / this.#rowPx) + this.overscan;
    const start = Math.max(0, Math.min(first, this.#count - 1));
    const end = Math.max(start + 1, Math.min(this.#count, last));
    if (start !== this.start) this.start = start;
    if (end !== this.end) this.end = end;
  }
}
