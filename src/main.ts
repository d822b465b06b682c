/** `npm start`: the API server and job workers in one process, on the embedded or external PostgreSQL. */
import 'reflect-metadata';
import { startApp } from './app';
import { loadConfig } from './config';
import { startHttpServer, type HttpServer } from './server/http';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await startApp(config, { work: config.role !== 'api' });
  let server: HttpServer | null = null;
  if (config.role !== 'worker') server = await startHttpServer(app);

  const database = app.db.embedded ? `embedded PostgreSQL (data in ${config.dataDir})` : 'PostgreSQL from DATABASE_URL';
  console.log(`medpsim ${config.role === 'worker' ? 'worker' : 'server'} ready on ${database}`);
  if (server) console.log(`GraphQL: ${server.url}/graphql (open it in a browser for Apollo Sandbox)`);

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
