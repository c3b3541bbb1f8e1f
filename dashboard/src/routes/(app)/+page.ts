import { redirect } from '@sveltejs/kit';
import type { PageLoad } from './$types';

/** Home is the board of the first tenant you belong to. */
export const load: PageLoad = async ({ parent }) => {
  const { me } = await parent();
  const first = me.memberships[0];
  if (first) redirect(307, `/t/${encodeURIComponent(first.tenant.slug)}/operations`);
  return {};
};
