import { bootstrap, onShutdown } from '../db/bootstrap.ts';
import { startWorker } from './worker.ts';

const { config, logger, services, orm } = await bootstrap('worker', { migrate: false });
const worker = startWorker(services);
const stop = async () => {
  await worker.close();
  await services.close();
  await orm.close();
};
try {
  await worker.metricsPort;
} catch (error) {
  const code = (error as { code?: unknown }).code;
  process.stderr.write(
    `Cannot serve worker metrics on ${config.host}:${config.workerMetricsPort} (${typeof code === 'string' ? code : 'listen failed'}). ` +
      'Set WORKER_METRICS_PORT to a free port (0: any), or unset it.\n',
  );
  await stop();
  process.exit(1);
}
await worker.webhooksReady;
logger.info({ concurrency: config.workerConcurrency }, 'worker started');

onShutdown(logger, stop);
