/**
 * Apollo Sandbox at GET /graphql from a browser. A browser on the server machine gets the page with a
 * token in Sandbox's headers (access/bootstrap.ts), so a newcomer copies nothing by hand; any other client
 * gets it with a placeholder to replace. "On the server machine" must hold on every count: the server
 * listens on loopback only, the connection comes from loopback, no proxy header is present, and the Host
 * is a loopback name. A reverse proxy on the same machine that sets none of those headers would pass: set
 * MEDPSIM_SANDBOX_TOKEN=off behind one (README).
 */
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Request } from 'express';
import { sandboxToken } from '../access/bootstrap';
import { ACCESS_SETTINGS } from '../access/settings';
import type { App } from '../platform/app';
import { isLoopbackHost } from '../platform/config';

const PROXY_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'via'];

const EXAMPLE = `# Who am I? Then the datasets. (Ctrl-Enter runs.)
query Start {
  me { role tokenPrefix }
  datasets { id name synthetic imageCount }
}
`;

export function fromServerMachine(app: App, request: Request): boolean {
  if (app.settings(ACCESS_SETTINGS).sandboxToken === 'off' || !isLoopbackHost(app.config.host)) return false;
  const remote = (request.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (!isLoopbackHost(remote)) return false;
  if (PROXY_HEADERS.some((name) => request.headers[name] !== undefined)) return false;
  const host = (request.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return isLoopbackHost(host);
}

async function renderSandbox(headers: Record<string, string>): Promise<string> {
  const plugin = ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false, document: EXAMPLE, headers });
  const listener = await plugin.serverWillStart?.({} as never);
  const page = await listener?.renderLandingPage?.();
  if (!page) throw new Error('Apollo landing page did not render');
  return typeof page.html === 'string' ? page.html : page.html();
}

/** The Sandbox page for this request: with a token only for a browser on the server machine. */
export async function landingPage(app: App, request: Request): Promise<string> {
  const authorization = fromServerMachine(app, request) ? `Bearer ${await sandboxToken(app)}` : 'Bearer paste-a-token-here (medpsim token create)';
  return renderSandbox({ Authorization: authorization });
}
