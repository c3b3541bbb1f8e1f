// A panel opened by a button (the board's type filter, the user menu): a click outside closes it, Escape closes
// it and gives focus back to the button. Components bind `root` and `trigger` and wire the handlers.
export class Popover {
  open = $state(false);
  /** What holds the button and its panel: clicks and focus outside it close the panel. */
  root: HTMLElement | undefined = $state();
  /** The button that opens the panel. */
  trigger: HTMLElement | undefined = $state();

  toggle = (): void => {
    this.open = !this.open;
  };

  close = (focusTrigger = false): void => {
    this.open = false;
    if (focusTrigger) this.trigger?.focus();
  };

  /** For `<svelte:window onclick>`. */
  closeOnClickOutside = (event: MouseEvent): void => {
    if (this.open && this.root && !this.root.contains(event.target as Node)) this.close();
  };

  /** Escape closes an open panel; true when it did. */
  closeOnEscape = (event: KeyboardEvent): boolean => {
    if (event.key !== 'Escape' || !this.open) return false;
    this.close(true);
    return true;
  };

  /** A `focusout` that took focus out of the popover (`relatedTarget` null: to nothing, e.g. another window). */
  focusLeft(event: FocusEvent): boolean {
    return !!this.root && !this.root.contains(event.relatedTarget as Node | null);
  }
}
