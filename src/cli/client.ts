/** The CLI talks to a running medpsim server over GraphQL, like any other client. */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export function serverUrl(option: string | undefined): string {
  return (option ?? process.env.MEDPSIM_URL ?? 'http://localhost:4000').replace(/\/+$/, '');
}

export async function request<T>(server: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${server}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError(`no medpsim server at ${server} (start one with \`npm start\`, or pass --server): ${(error as Error).cause ?? error}`, null);
  }
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) {
    const [first] = body.errors;
    throw new ApiError(first.message, first.extensions?.code ?? null);
  }
  return body.data as T;
}

/** Yields each value of a subscription until the server completes it. */
export async function* subscribe<T>(server: string, query: string, variables: Record<string, unknown>): AsyncGenerator<T> {
  const client = createClient({ url: `${server.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  try {
    for await (const result of client.iterate<T>({ query, variables })) {
      if (result.errors?.length) throw new ApiError(result.errors[0].message, String(result.errors[0].extensions?.code ?? ''));
      yield result.data as T;
    }
  } finally {
    await client.dispose();
  }
}
