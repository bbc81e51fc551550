import type { Config } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import type { Clock, Logger } from '../../util/index.js';

/** What each demo step gets: a fresh embedded database, the config, a clock fixed in the demo month. */
export interface DemoContext {
  db: Db;
  config: Config;
  clock: Clock;
  logger: Logger;
  /** Folder the demo may write files into (exports, charts). */
  dir: string;
  /** Print a line for the person running the demo. */
  say(text?: string): void;
}

export type DemoStep = (ctx: DemoContext) => Promise<void>;
