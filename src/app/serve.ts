import { loadConfig } from '../config/index.js';
import { connect, migrateToLatest } from '../db/index.js';
import { createScheduler, drainJobs } from '../jobs/index.js';
import { createStripeIngest } from '../stripe/index.js';
import { createLogger } from '../util/index.js';
import { createBillopsApp } from './server.js';

/** `billops serve`: migrate, listen, run the Stripe queue worker, and shut down cleanly on SIGTERM / SIGINT. */
export async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.env.LOG_LEVEL);
  const db = await connect({ url: config.env.DATABASE_URL, dataDir: `${config.env.BILLOPS_DATA_DIR}/pgdata` });
  await migrateToLatest(db.db);
  const stripe = createStripeIngest({ config, db, logger });
  const app = createBillopsApp({ config, db, logger, routes: stripe.routes });
  const { port } = await app.start(config.env.PORT);
  stripe.start();
  // Replicas with BILLOPS_SCHEDULER=off serve Slack and webhooks only; the others share the ticks.
  const scheduler = config.env.BILLOPS_SCHEDULER === 'off' ? null : createScheduler(app.jobs);
  scheduler?.start();
  logger.info(
    { port, database: db.kind, config: config.filePath ?? '(defaults)', scheduler: scheduler ? 'on' : 'off', replica: app.jobs.replicaId },
    'billops is listening',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: no new requests, finishing work in flight');
    const force = setTimeout(() => {
      logger.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    try {
      await app.stop();
      // No new ticks; a running job is told to stop at a safe point and recorded as it ends.
      await scheduler?.stop(15_000);
      await drainJobs(app.jobs, 15_000);
      // Webhooks already answered are committed; let the worker finish the events it holds.
      await stripe.stop();
      await db.close();
      logger.info('stopped');
      process.exitCode = 0;
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
