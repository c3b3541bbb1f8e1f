import { bootstrap, onShutdown } from '../db/bootstrap.ts';
import { startWorker } from './worker.ts';

const { logger, services, orm } = await bootstrap('worker', { migrate: false });
const worker = startWorker(services);
logger.info({ concurrency: services.config.workerConcurrency }, 'worker started');

onShutdown(logger, async () => {
  await worker.close();
  await services.close();
  await orm.close();
});
