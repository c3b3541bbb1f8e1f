/** Room names, built in one place. */
export const rooms = {
  tenant: (slug: string) => `tenant:${slug}`,
  user: (userId: string) => `user:${userId}`,
  token: (tokenId: string) => `token:${tokenId}`,
};
