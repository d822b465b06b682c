/**
 * Per-installation secrets in data/secrets/ (mode 0600, in a 0700 folder), never in the database: keys
 * (the patient-pseudonym key, the image-URL signing key) made on first use, and the first admin token.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export function secretPath(dataDir: string, name: string): string {
  return path.join(dataDir, 'secrets', name);
}

/** The key in data/secrets/<name> (32 random bytes, created once), or `fromEnv` when given. */
export async function loadSecretKey(dataDir: string, name: string, fromEnv?: string): Promise<Buffer> {
  if (fromEnv) return Buffer.from(fromEnv, 'utf8');
  const file = secretPath(dataDir, name);
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

/** Replaces data/secrets/<name> with `text` (mode 0600), atomically. */
export async function writeSecret(dataDir: string, name: string, text: string): Promise<string> {
  const file = secretPath(dataDir, name);
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temp, text, { mode: 0o600 });
  await fs.rename(temp, file);
  return file;
}
