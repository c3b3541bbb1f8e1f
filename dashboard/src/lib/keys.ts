// Page-wide keyboard shortcuts: `/` focuses a page's search field unless the keyboard is already typing somewhere.

/** Whether a key press belongs to what has focus (a field, an editable region, an open dialog's controls). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const element = target as HTMLElement;
  return element.isContentEditable || !!element.closest('input, textarea, select, [contenteditable], dialog[open]');
}

/** For `<svelte:window onkeydown>`: `/` (no modifier) moves focus to `field`; true when it did. */
export function focusOnSlash(event: KeyboardEvent, field: HTMLElement | undefined): boolean {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey || !field || isTypingTarget(event.target)) return false;
  event.preventDefault();
  field.focus();
  return true;
}
