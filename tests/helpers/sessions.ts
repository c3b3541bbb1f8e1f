import { newToken } from '../../db/auth/tokens.ts';
import type { TestEnv } from './stack.ts';

/**
 * A user session issued straight in the database, as login would issue it, for tests whose subject is not
 * login itself: each real login runs one deliberately slow scrypt (seconds on a busy two-core machine).
 */
export async function issueSession(env: TestEnv, user: { id: string } | { email: string }, expiresAt = new Date(Date.now() + 3_600_000)): Promise<string> {
  const em = env.services.orm.em.fork();
  const id = 'id' in user ? user.id : (await em.execute<{ id: string }[]>('select id from users where email = ?', [user.email]))[0]?.id;
  if (!id) throw new Error(`no user ${JSON.stringify(user)}`);
  const { token, hash } = newToken('user');
  await em.execute(`insert into auth_tokens (token_hash, kind, user_id, expires_at) values (?, 'user', ?, ?)`, [hash, id, expiresAt]);
  return token;
}
