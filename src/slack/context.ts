import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import type { Clock, Logger } from '../util/index.js';

/** What every Slack listener may reach: services, never raw request plumbing. */
export interface SlackContext {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
}
