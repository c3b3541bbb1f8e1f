import { error, redirect } from '@sveltejs/kit';
import type { Me } from '#lib/api.ts';
import { loginPath } from '#lib/navigation.ts';
import type { LayoutLoad } from './$types';

/** Every page of the signed-in shell needs the account; no session → sign in, then come back. */
export const load: LayoutLoad = async ({ fetch, url, untrack }) => {
  // Filters change the query string all the time: that must not re-read the account.
  const here = untrack(() => url.pathname + url.search);
  const response = await fetch('/api/me', { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401) redirect(307, loginPath(here));
  if (!response.ok) error(response.status, 'Your account could not be loaded. Try again in a moment.');
  return { me: (await response.json()) as Me };
};
