/**
 * The CLI talks to a running medpsim server over GraphQL, like any other client. Its token: --token,
 * else $MEDPSIM_TOKEN, else the server's first admin token when the CLI runs on the server machine
 * (data/secrets/admin-token under $MEDPSIM_DATA_DIR or ./data).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { runningServerUrl } from '../server/server-file';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface Server {
  url: string;
  token: string | null;
}

function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.MEDPSIM_DATA_DIR || 'data');
}

export function adminTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), 'secrets', 'admin-token');
}

function tokenFor(option: string | undefined): string | null {
  if (option) return option;
  if (process.env.MEDPSIM_TOKEN) return process.env.MEDPSIM_TOKEN.trim();
  try {
    return readFileSync(adminTokenFile(), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Adds --server and --token to a command that talks to a server. */
export function serverOptions(command: Command): Command {
  return command
    .option('--server <url>', 'medpsim server (default $MEDPSIM_URL, else the one this machine runs, else http://localhost:$PORT)')
    .option('--token <token>', 'API token (default $MEDPSIM_TOKEN, else data/secrets/admin-token on the server machine)');
}

/**
 * The server: --server, else $MEDPSIM_URL, else the server running on this machine with this data folder
 * (data/server.json), else http://localhost:$PORT (4000); and the token to send it.
 */
export function serverOf(options: { server?: string; token?: string }): Server {
  const url = options.server ?? process.env.MEDPSIM_URL ?? runningServerUrl(dataDir()) ?? `http://localhost:${process.env.PORT || 4000}`;
  return { url: url.replace(/\/+$/, ''), token: tokenFor(options.token) };
}

function explain(message: string, code: string | null, server: Server): string {
  if (code !== 'UNAUTHENTICATED') return message;
  const where = server.token ? 'the token sent' : 'no token was found';
  return `${message} (${where}: pass --token, set MEDPSIM_TOKEN, or run on the server machine, where ${adminTokenFile()} holds the first admin token)`;
}

export async function request<T>(server: Server, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(server.token ? { authorization: `Bearer ${server.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError(`no medpsim server at ${server.url} (start one with \`npm start\`, or pass --server): ${(error as Error).cause ?? error}`, null);
  }
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) {
    const [first] = body.errors;
    const code = first.extensions?.code ?? null;
    throw new ApiError(explain(first.message, code, server), code);
  }
  return body.data as T;
}

/** Yields each value of a subscription until the server completes it. */
export async function* subscribe<T>(server: Server, query: string, variables: Record<string, unknown>): AsyncGenerator<T> {
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: server.token ? { authorization: `Bearer ${server.token}` } : {},
  });
  try {
    for await (const result of client.iterate<T>({ query, variables })) {
      if (result.errors?.length) throw new ApiError(result.errors[0].message, String(result.errors[0].extensions?.code ?? ''));
      yield result.data as T;
    }
  } catch (error) {
    // A closed connection arrives as a CloseEvent, not an Error.
    const close = error as { code?: number; reason?: string };
    if (typeof close.code === 'number' && !(error instanceof Error)) throw new ApiError(`the server closed the subscription (${close.code}): ${close.reason}`, null);
    throw error;
  } finally {
    await client.dispose();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A dataset given by id or by name (looked up on the server). */
export async function datasetId(server: Server, idOrName: string): Promise<string> {
  if (UUID.test(idOrName)) return idOrName;
  const { datasets } = await request<{ datasets: Array<{ id: string; name: string }> }>(server, `{ datasets { id name } }`);
  const dataset = datasets.find((candidate) => candidate.name === idOrName);
  if (!dataset) throw new Error(`no dataset named "${idOrName}" (medpsim datasets lists them)`);
  return dataset.id;
}
