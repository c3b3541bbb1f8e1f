import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The credentials key of a one-machine install (`npm start` with its embedded PostgreSQL): kept beside that
 * database under DATA_DIR, created once with mode 0600. An install whose stores are named (several nodes)
 * must set SOURCE_CREDENTIALS_KEY on every node instead: a key made here would differ per node.
 */
export async function localCredentialsKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'source-credentials.key');
  try {
    const existing = (await readFile(file, 'utf8')).trim();
    if (Buffer.from(existing, 'base64').length === 32) return existing;
    throw new Error(`${file} does not hold a 32-byte base64 key; remove it to have a new one made (stored credentials are then lost).`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  // `wx`: never overwrite a key another process wrote meanwhile; read theirs instead.
  try {
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readFile(file, 'utf8')).trim();
  }
}
