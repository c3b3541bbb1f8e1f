// Keyset "Load more": a next page may repeat rows the list already holds (a row that moved between pages while
// it was read), so it is appended without them.

/** `list` followed by the rows of `page` it does not hold yet (by `key`), in page order. */
export function appendPage<T>(list: readonly T[], page: readonly T[], key: (row: T) => string): T[] {
  const known = new Set(list.map(key));
  return [...list, ...page.filter((row) => !known.has(key(row)))];
}
