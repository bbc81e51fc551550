import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Jobs } from '../jobs/index.js';
import type { Clock, Logger } from '../util/index.js';

/** What every Slack listener may reach: services, never raw request plumbing. */
export interface SlackContext {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  /** The process's jobs (runner shared with the scheduler); the app always sets it. */
  jobs?: Jobs;
  /** The approvals outbox worker: `nudge()` runs it at once after a request is approved. */
  approvals?: { nudge(): void };
}

/** What a scheduled Slack post needs: no request, only the database, config, clock and log. */
export interface PostingContext {
  config: Config;
  db: Pick<Db, 'db'>;
  clock: Clock;
  logger: Logger;
}
