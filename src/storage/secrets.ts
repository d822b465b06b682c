/** The per-installation key for patient pseudonyms (HMAC); kept in the data folder, never in the database. */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export async function loadPseudonymKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  if (env.MEDPSIM_PSEUDONYM_KEY) return Buffer.from(env.MEDPSIM_PSEUDONYM_KEY, 'utf8');
  const file = path.join(dataDir, 'secrets', 'pseudonym.key');
  try {
    return await fs.readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    await fs.writeFile(file, key, { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    return fs.readFile(file); // another process created it first
  }
}
