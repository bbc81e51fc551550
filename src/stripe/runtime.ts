import type { HttpRoute } from '../app/http-routes.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import { type Clock, type Logger, systemClock } from '../util/index.js';
import { EventIntake } from './event-store.js';
import { ThreadedEventWorker } from './queue/thread.js';
import { StripeEventWorker, type WorkerStats } from './queue/worker.js';
import { stripeWebhookRoute } from './webhook-route.js';

/** What the runtime needs of a queue worker, in this thread or its own. */
export interface QueueWorker {
  readonly stats: WorkerStats;
  start(): void;
  wake(): void;
  stop(): Promise<void>;
}

export interface StripeIngest {
  /** `POST /stripe/webhook` when `STRIPE_WEBHOOK_SECRET` is set; none otherwise. */
  routes: HttpRoute[];
  intake: EventIntake;
  worker: QueueWorker;
  start(): void;
  /** After the HTTP server stopped taking requests: finish writes in flight, then the worker's events. */
  stop(): Promise<void>;
}

export interface StripeIngestDeps {
  config: Config;
  db: Db;
  logger: Logger;
  clock?: Clock;
  /**
   * Run the queue worker on the main thread even with PostgreSQL (embedded PGlite always does: it
   * cannot be shared with a thread). By default it gets a thread and a pool of its own, so
   * normalizing events never delays the answer to a webhook.
   */
  workerInProcess?: boolean;
}

/** What `billops serve` runs for Stripe: the webhook route and this replica's queue worker. */
export function createStripeIngest(deps: StripeIngestDeps): StripeIngest {
  const { config, db, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const s = config.file.stripe;
  const options = {
    batchSize: s.queue.batch_size,
    concurrency: s.queue.concurrency,
    pollIntervalMs: s.queue.poll_interval_ms,
    visibilityTimeoutMs: s.queue.visibility_timeout_seconds * 1000,
    maxAttempts: s.queue.max_attempts,
  };
  const worker: QueueWorker =
    db.kind === 'pg' && db.url && !deps.workerInProcess
      ? new ThreadedEventWorker({ url: db.url, logLevel: config.env.LOG_LEVEL, options }, logger)
      : new StripeEventWorker({ db: db.db, clock, logger, ...options });
  const intake = new EventIntake(db.db, { onStored: () => worker.wake() });
  const secret = config.env.STRIPE_WEBHOOK_SECRET;
  const routes = secret ? [stripeWebhookRoute({ intake, secret, toleranceSeconds: s.webhook_tolerance_seconds, clock, logger })] : [];
  if (!secret) logger.warn('STRIPE_WEBHOOK_SECRET is not set: /stripe/webhook is not served');
  return {
    routes,
    intake,
    worker,
    start: () => worker.start(),
    async stop() {
      await intake.settled();
      await worker.stop();
    },
  };
}
