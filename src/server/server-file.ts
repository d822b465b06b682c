/**
 * data/server.json: where the server on this machine listens (its URL and pid), written at start and removed
 * on a clean stop, so that the CLI finds a server started with another PORT or HOST without being told.
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ServerFile {
  url: string;
  pid: number;
}

const NAME = 'server.json';

export async function writeServerFile(dataDir: string, contents: ServerFile): Promise<void> {
  const file = path.join(dataDir, NAME);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(contents)}\n`, { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
}

export async function removeServerFile(dataDir: string): Promise<void> {
  await fs.rm(path.join(dataDir, NAME), { force: true });
}

/** The URL of the server that wrote dataDir/server.json, if its process is alive. */
export function runningServerUrl(dataDir: string): string | null {
  let contents: ServerFile;
  try {
    contents = JSON.parse(readFileSync(path.join(dataDir, NAME), 'utf8')) as ServerFile;
  } catch {
    return null;
  }
  try {
    process.kill(contents.pid, 0); // throws when there is no such process...
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return null; // ...or when it is another user's
  }
  return contents.url;
}
