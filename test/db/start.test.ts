/** `npm start` as a user runs it: embedded PostgreSQL, no setup, clean shutdown on Ctrl-C (SIGINT). */
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, MAIN, startProcess, stopProcesses } from '../helpers/processes';

afterAll(stopProcesses);

/** POST /graphql with the first admin token, as the CLI on the server machine sends it. */
async function gql(url: string, dataDir: string, query: string): Promise<unknown> {
  const token = readFileSync(path.join(dataDir, 'secrets', 'admin-token'), 'utf8').trim();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

it('starts on an embedded PostgreSQL, serves GraphQL, keeps data across restarts and stops cleanly', async () => {
  // A fresh folder inside a temporary one, as ./data is on a first start.
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-start-')), 'data');
  chmodSync(path.dirname(dataDir), 0o711);
  const env = { DATABASE_URL: undefined, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };

  for (const round of [1, 2]) {
    const server = startProcess(MAIN, [], env);
    const [, url] = await server.waitFor(/GraphQL: (http:\/\/\S+)\/graphql/);
    expect(server.output()).toContain('embedded PostgreSQL');
    // The first start makes the admin token and says where it is, never what it is; later starts keep it.
    const tokenFile = path.join(dataDir, 'secrets', 'admin-token');
    expect(server.output()).toContain(round === 1 ? `Created the first admin token in ${tokenFile}` : `Admin token: ${tokenFile}`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(tokenFile)).mode & 0o777).toBe(0o700);
    expect(server.output()).not.toContain(readFileSync(tokenFile, 'utf8').trim());
    const query = round === 1 ? `mutation { createDataset(name: "kept") { name } }` : `{ datasets { name } }`;
    const body = await gql(url, dataDir, query);
    if (round === 1) expect(body).toEqual({ data: { createDataset: { name: 'kept' } } });
    else expect(body).toEqual({ data: { datasets: [{ name: 'kept' }] } });

    // The CLI on this machine finds the server (any PORT) and its token through the data folder alone.
    expect(JSON.parse(readFileSync(path.join(dataDir, 'server.json'), 'utf8'))).toEqual({ url: url.replace('localhost', '127.0.0.1'), pid: server.process.pid });
    const cli = startProcess(CLI, ['datasets', '--json'], { MEDPSIM_DATA_DIR: dataDir, MEDPSIM_URL: undefined, MEDPSIM_TOKEN: undefined });
    expect(await cli.exited).toBe(0);
    expect(JSON.parse(cli.output())).toEqual([expect.objectContaining({ name: 'kept' })]);

    server.process.kill('SIGINT');
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('stopped');
    expect(existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    // PostgreSQL removes its pid file when it has shut down
    expect(existsSync(path.join(dataDir, 'pg', 'cluster', 'postmaster.pid'))).toBe(false);
  }
});

it('starts again after a crash that left the embedded PostgreSQL running', async () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-crash-')), 'data');
  chmodSync(path.dirname(dataDir), 0o711);
  const env = { DATABASE_URL: undefined, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
  const crashed = startProcess(MAIN, [], env);
  await crashed.waitFor(/GraphQL: /);
  crashed.process.kill('SIGKILL'); // its PostgreSQL, in a process group of its own, lives on
  await crashed.exited;
  expect(existsSync(path.join(dataDir, 'pg', 'cluster', 'postmaster.pid'))).toBe(true);

  const restarted = startProcess(MAIN, [], env);
  const [, url] = await restarted.waitFor(/GraphQL: (http:\/\/\S+)\/graphql/);
  expect(await gql(url, dataDir, '{ datasets { name } }')).toEqual({ data: { datasets: [] } });
  restarted.process.kill('SIGINT');
  expect(await restarted.exited).toBe(0);
  expect(existsSync(path.join(dataDir, 'pg', 'cluster', 'postmaster.pid'))).toBe(false);
});

it('refuses a second server on the same data folder, leaving the first one serving', async () => {
  const dataDir = path.join(mkdtempSync(path.join(tmpdir(), 'medpsim-twice-')), 'data');
  chmodSync(path.dirname(dataDir), 0o711);
  const env = { DATABASE_URL: undefined, MEDPSIM_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' };
  const first = startProcess(MAIN, [], env);
  const [, url] = await first.waitFor(/GraphQL: (http:\/\/\S+)\/graphql/);
  const second = startProcess(MAIN, [], env);
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain(`the embedded database in ${path.join(dataDir, 'pg')} is in use by another medpsim process (pid ${first.process.pid})`);
  expect(await gql(url, dataDir, '{ datasets { name } }')).toEqual({ data: { datasets: [] } });
  first.process.kill('SIGINT');
  expect(await first.exited).toBe(0);
});

it('exits with a clear message when the configuration is wrong', async () => {
  const server = startProcess(MAIN, [], { MEDPSIM_MAX_PIXELS: '-3', DATABASE_URL: undefined });
  expect(await server.exited).toBe(1);
  expect(server.output()).toContain('MEDPSIM_MAX_PIXELS must be an integer in [1, 2147483647], got "-3"');
});
