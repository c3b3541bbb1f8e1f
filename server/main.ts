import { bootstrap, fatal, onShutdown } from '../db/bootstrap.ts';
import { createApp } from './app.ts';

const { config, logger, services, orm } = await bootstrap('server', { migrate: true });
const server = createApp(services);

server.httpServer.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EADDRINUSE') fatal(`Port ${config.port} is already in use. Set PORT to a free port.`);
  fatal(`The server could not listen: ${error.code ?? error.message}`);
});
await server.ready.catch(() => fatal('Cannot subscribe to the changefeed on Redis. Is REDIS_URL reachable?'));
server.httpServer.listen(config.port, config.host, () => {
  logger.info({ port: config.port, host: config.host }, 'server listening');
});

onShutdown(logger, async () => {
  await server.close();
  await services.close();
  await orm.close();
});
