/** A same-site path to go back to after signing in; anything else (other origins, `//host`) goes home. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  if (next.startsWith('/login')) return '/';
  return next;
}

export function loginPath(here: string): string {
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}
