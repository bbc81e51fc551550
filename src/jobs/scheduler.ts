import cron, { type Logger as CronLogger, type RunCoordinator, type ScheduledTask } from 'node-cron';
import { sql } from 'kysely';
import type { Logger } from '../util/index.js';
import { fireKey } from './cron.js';
import type { JobDefinition, JobName } from './registry.js';
import { type Jobs, claimFire, drainJobs, runClaimed } from './runner.js';

export interface Scheduler {
  /** The node-cron task of each scheduled job. */
  readonly tasks: ReadonlyMap<JobName, ScheduledTask>;
  start(): void;
  /** No new ticks; running jobs are told to stop (abort signal) and waited for, at most `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Claimed fire keys are kept this long (job_runs keeps the history), then pruned. */
const FIRE_RETENTION_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 6 * 3_600_000;

function cronLogger(logger: Logger): CronLogger {
  const errorOf = (m: string | Error, err?: Error) => (m instanceof Error ? { err: m } : { err });
  return {
    info: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m, err) => logger.error(errorOf(m, err), m instanceof Error ? m.message : m),
    debug: (m, err) => logger.debug(errorOf(m, err), m instanceof Error ? m.message : m),
  };
}

/**
 * node-cron's run coordinator, backed by Postgres: a tick runs on the replica whose insert of the fire
 * key (`job:fireTime`) went in. node-cron hands us `<task name>:<scheduled instant ISO>`; the instant
 * is the scheduled slot, the same on every replica.
 */
export function postgresRunCoordinator(jobs: Jobs, name: JobName): RunCoordinator {
  return {
    async shouldRun(key: string): Promise<boolean> {
      const prefix = `${name}:`;
      const at = key.startsWith(prefix) ? new Date(key.slice(prefix.length)) : new Date(Number.NaN);
      if (Number.isNaN(at.getTime())) throw new Error(`unexpected node-cron coordination key "${key}"`);
      return (await claimFire(jobs, name, at)) !== null;
    },
  };
}

/**
 * The scheduler of one replica: a node-cron task per job that has a body and a schedule, in the org
 * time zone, each tick coordinated through Postgres so it runs once across every replica.
 */
export function createScheduler(jobs: Jobs): Scheduler {
  const logger = jobs.logger.child({ component: 'scheduler' });
  const timezone = jobs.config.file.org.timezone;
  const tasks = new Map<JobName, ScheduledTask>();
  let pruneTimer: NodeJS.Timeout | undefined;

  const tick = async (def: JobDefinition & { run: NonNullable<JobDefinition['run']> }, slot: Date) => {
    try {
      await runClaimed(jobs, def, slot, 'schedule', fireKey(def.name, slot));
    } catch (err) {
      // Only the bookkeeping around a job can get here (the database went away); the next tick tries again.
      logger.error({ err, job: def.name, fireTime: slot.toISOString() }, 'scheduled tick could not be run');
    }
  };

  const prune = async () => {
    const before = new Date(jobs.clock.now().getTime() - FIRE_RETENTION_MS);
    try {
      await sql`delete from job_fires where claimed_at < ${before}`.execute(jobs.db);
    } catch (err) {
      logger.warn({ err }, 'could not prune old fire keys');
    }
  };

  return {
    tasks,
    start() {
      if (tasks.size > 0) return;
      for (const def of jobs.definitions.values()) {
        if (!def.run || def.schedule === 'off') {
          logger.info({ job: def.name, reason: def.run ? 'schedule is off' : def.unavailable }, 'job not scheduled');
          continue;
        }
        const runnable = def as JobDefinition & { run: NonNullable<JobDefinition['run']> };
        const task = cron.createTask(def.schedule, (ctx) => tick(runnable, ctx.date), {
          name: def.name,
          timezone,
          distributed: true,
          runCoordinator: postgresRunCoordinator(jobs, def.name),
          logger: cronLogger(logger),
          unref: true,
        });
        tasks.set(def.name, task);
        void task.start();
      }
      void prune();
      pruneTimer = setInterval(() => void prune(), PRUNE_EVERY_MS);
      pruneTimer.unref();
      logger.info({ jobs: [...tasks.keys()], timezone, replica: jobs.replicaId }, 'scheduler started');
    },
    async stop(timeoutMs = 20_000) {
      clearInterval(pruneTimer);
      for (const task of tasks.values()) await task.destroy();
      tasks.clear();
      await drainJobs(jobs, timeoutMs);
    },
  };
}
