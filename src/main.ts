/** `npm start`: the API server and job workers in one process, on the embedded or external PostgreSQL. */
import './platform/threadpool';
import 'reflect-metadata';
import { ensureAdminToken } from './access/bootstrap';
import { MODULES } from './modules';
import { startApp } from './platform/app';
import { isLoopbackHost, loadConfig } from './platform/config';
import { startHttpServer, type HttpServer } from './server/http';
import { removeServerFile, writeServerFile } from './server/server-file';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await startApp(config, MODULES, { work: config.role !== 'api' });
  let server: HttpServer | null = null;
  if (config.role !== 'worker') server = await startHttpServer(app);
  const admin = server ? await ensureAdminToken(app) : null;
  // Where this server is, for the CLI on this machine (removed on a clean stop).
  if (server) await writeServerFile(config.dataDir, { url: server.url, pid: process.pid });

  const database = app.db.embedded ? `embedded PostgreSQL (data in ${config.dataDir})` : 'PostgreSQL from DATABASE_URL';
  console.log(`medpsim ${config.role === 'worker' ? 'worker' : 'server'} ready on ${database}`);
  if (server && admin) {
    const local = isLoopbackHost(config.host);
    if (admin.created) console.log(`Created the first admin token in ${admin.file} (mode 0600): the CLI on this machine uses it.`);
    else if (admin.file) console.log(`Admin token: ${admin.file}`);
    if (!local) {
      console.log(`Listening on ${config.host}, not only on this machine: put TLS in front of it (a reverse proxy, see README "Behind a reverse proxy").`);
    }
    // Last: tests and scripts wait for this line.
    const address = local ? server.url.replace('127.0.0.1', 'localhost') : server.url;
    console.log(`GraphQL: ${address}/graphql (open it in a browser for Apollo Sandbox${local ? ', signed in as admin on this machine' : ''})`);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      console.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    await server?.close().catch((error) => console.error('[shutdown]', error));
    if (server) await removeServerFile(config.dataDir);
    await app.close();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error('medpsim failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
