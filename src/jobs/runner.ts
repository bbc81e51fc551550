import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { type Clock, type Logger, UserError, isUserError, newErrorId, stringifyJson } from '../util/index.js';
import { fireKey, fireTimeOf } from './cron.js';
import { type JobDefinition, type JobName, type JobSummary, isJobName } from './registry.js';
import type { JobTrigger } from './tables.js';

export interface JobsOptions {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  logger: Logger;
  definitions: readonly JobDefinition[];
  /** Names this process in job history; default BILLOPS_REPLICA_ID or `<hostname>:<pid>`. */
  replicaId?: string;
  /** How often a running job says it is alive. */
  heartbeatMs?: number;
  /** A `running` row without a heartbeat for this long belongs to a replica that died. */
  staleAfterMs?: number;
}

/** A run in progress, here or on another replica. */
export interface RunningJob {
  runId: bigint | null;
  startedAt: Date;
  trigger: JobTrigger;
  triggeredBy: string;
  replicaId: string;
}

/**
 * The jobs of one process: their definitions, and what is running here. Built once by the
 * composition root and shared by the scheduler, the Slack listeners and the CLI.
 */
export interface Jobs {
  readonly db: Kysely<Database>;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly replicaId: string;
  readonly definitions: ReadonlyMap<JobName, JobDefinition>;
  readonly heartbeatMs: number;
  readonly staleAfterMs: number;
  /** Runs in flight in this process (a second request here is answered without a database round trip). */
  readonly running: Map<JobName, RunningJob>;
  readonly inFlight: Set<Promise<unknown>>;
  /** Aborted on shutdown; passed to every job body. */
  readonly shutdown: AbortController;
}

export function defaultReplicaId(config: Config): string {
  return config.env.BILLOPS_REPLICA_ID ?? `${hostname()}:${process.pid}`;
}

export function createJobs(o: JobsOptions): Jobs {
  return {
    db: o.db,
    config: o.config,
    clock: o.clock,
    logger: o.logger.child({ component: 'jobs' }),
    replicaId: o.replicaId ?? defaultReplicaId(o.config),
    definitions: new Map(o.definitions.map((d) => [d.name, d])),
    heartbeatMs: o.heartbeatMs ?? 30_000,
    staleAfterMs: o.staleAfterMs ?? 5 * 60_000,
    running: new Map(),
    inFlight: new Set(),
    shutdown: new AbortController(),
  };
}

export interface RunOptions {
  /** Who asked (a Slack user, the OS user); the scheduler itself for ticks. */
  actor?: Actor;
  /** Where it was asked from (Slack channel, team …), for the audit log. */
  context?: Record<string, unknown>;
}

export type JobRunResult =
  /** Another replica claimed this tick first. */
  | { status: 'not_claimed'; job: JobName; fireKey: string }
  /** The job was already running; nothing was started (a tick is recorded as skipped). */
  | { status: 'already_running'; job: JobName; running: RunningJob; skippedRunId: bigint | null }
  | { status: 'succeeded'; job: JobName; runId: bigint; summary: JobSummary; durationMs: number; startedAt: Date }
  | { status: 'failed'; job: JobName; runId: bigint; errorId: string; message: string; userError: boolean; durationMs: number; startedAt: Date };

/** The definition of a job that can run here, or a UserError saying why not. */
export function runnableJob(jobs: Jobs, name: string): JobDefinition & { run: NonNullable<JobDefinition['run']> } {
  if (!isJobName(name)) {
    throw new UserError(`There is no job called "${name}". Jobs: ${[...jobs.definitions.keys()].join(', ')}.`);
  }
  const def = jobs.definitions.get(name);
  if (!def?.run) throw new UserError(`The ${name} job cannot run here: ${def?.unavailable ?? 'it has no body'}.`);
  return def as JobDefinition & { run: NonNullable<JobDefinition['run']> };
}

/**
 * Claim a scheduled tick: the first replica to insert its fire key runs it, every other one gets
 * null. The fire time is the scheduled instant (truncated to the second), so every replica asks
 * about the same key.
 */
export async function claimFire(jobs: Jobs, name: JobName, fireTime: Date): Promise<string | null> {
  const key = fireKey(name, fireTime);
  const res = await sql<{ fire_key: string }>`
    insert into job_fires (fire_key, job_name, fire_time, replica_id, claimed_at)
    values (${key}, ${name}, ${fireTimeOf(fireTime)}, ${jobs.replicaId}, ${jobs.clock.now()})
    on conflict (fire_key) do nothing
    returning fire_key`.execute(jobs.db);
  return res.rows[0]?.fire_key ?? null;
}

/**
 * Run a job once for `fireTime`. A scheduled tick is claimed first (exactly one replica runs it);
 * every run is recorded in `job_runs` with its outcome. Never two runs of a job at once, on any
 * replica: the second is answered `already_running` (and a tick recorded as skipped). A failing job
 * is logged with an error id and recorded as failed; this function does not throw for it.
 */
export async function runJobOnce(jobs: Jobs, name: string, fireTime: Date, trigger: JobTrigger, opts: RunOptions = {}): Promise<JobRunResult> {
  const def = runnableJob(jobs, name);
  let key: string | null = null;
  if (trigger === 'schedule') {
    key = await claimFire(jobs, def.name, fireTime);
    if (key === null) return { status: 'not_claimed', job: def.name, fireKey: fireKey(def.name, fireTime) };
  }
  return runClaimed(jobs, def, fireTime, trigger, key, opts);
}

/** Run a job whose tick (if any) this replica has claimed. */
export function runClaimed(
  jobs: Jobs,
  def: JobDefinition & { run: NonNullable<JobDefinition['run']> },
  fireTime: Date,
  trigger: JobTrigger,
  key: string | null,
  opts: RunOptions = {},
): Promise<JobRunResult> {
  const p = execute(jobs, def, fireTime, trigger, key, opts);
  jobs.inFlight.add(p);
  void p.finally(() => jobs.inFlight.delete(p)).catch(() => undefined);
  return p;
}

async function execute(
  jobs: Jobs,
  def: JobDefinition & { run: NonNullable<JobDefinition['run']> },
  fireTime: Date,
  trigger: JobTrigger,
  key: string | null,
  opts: RunOptions,
): Promise<JobRunResult> {
  const actor: Actor = opts.actor ?? { kind: 'scheduler', id: def.name };
  const name = def.name;
  const log = jobs.logger.child({ job: name, trigger, fireKey: key });

  // Checked and marked before the first await: two requests in this process cannot both pass.
  const here = jobs.running.get(name);
  if (here) return alreadyRunning(jobs, name, here, trigger, key, actor);
  const mine: RunningJob = { runId: null, startedAt: jobs.clock.now(), trigger, triggeredBy: actor.id, replicaId: jobs.replicaId };
  jobs.running.set(name, mine);

  let heartbeat: NodeJS.Timeout | undefined;
  try {
    const startedAt = jobs.clock.now();
    const runId = await jobs.db.transaction().execute(async (trx) => {
      await takeOverStaleRun(trx, jobs, name, log);
      const inserted = await sql<{ id: bigint }>`
        insert into job_runs (job_name, fire_key, trigger, triggered_by, replica_id, started_at, heartbeat_at, outcome)
        values (${name}, ${key}, ${trigger}, ${actor.id}, ${jobs.replicaId}, ${startedAt}, ${startedAt}, 'running')
        on conflict do nothing
        returning id`.execute(trx);
      const id = inserted.rows[0]?.id ?? null;
      if (id !== null && trigger !== 'schedule') {
        await recordAudit(
          trx,
          {
            actor,
            action: 'job.run_requested',
            entity: { type: 'job_run', id: id.toString() },
            after: { job: name, trigger },
            source: trigger,
            context: opts.context ?? {},
          },
          jobs.clock,
        );
      }
      return id;
    });
    if (runId === null) {
      jobs.running.delete(name);
      const other = await runningElsewhere(jobs, name);
      return alreadyRunning(jobs, name, other ?? mine, trigger, key, actor);
    }
    mine.runId = runId;
    mine.startedAt = startedAt;

    heartbeat = setInterval(() => {
      sql`update job_runs set heartbeat_at = ${jobs.clock.now()} where id = ${runId} and outcome = 'running'`
        .execute(jobs.db)
        .catch((err: unknown) => log.warn({ err, runId }, 'job heartbeat failed'));
    }, jobs.heartbeatMs);
    heartbeat.unref();

    const t0 = performance.now();
    log.info({ runId }, 'job started');
    try {
      const summary = await def.run({
        db: jobs.db,
        config: jobs.config,
        clock: jobs.clock,
        logger: log,
        runId,
        jobName: name,
        // A tick's body sees the scheduled instant, the same whichever replica won it.
        fireTime: trigger === 'schedule' ? fireTimeOf(fireTime) : fireTime,
        trigger,
        actor,
        signal: jobs.shutdown.signal,
      });
      const durationMs = Math.round(performance.now() - t0);
      await finish(jobs, runId, { outcome: 'succeeded', durationMs, summary }, log);
      log.info({ runId, durationMs }, 'job succeeded');
      return { status: 'succeeded', job: name, runId, summary, durationMs, startedAt };
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      const errorId = newErrorId();
      const userError = isUserError(err);
      const message = err instanceof Error ? err.message : String(err);
      if (userError) log.warn({ err, errorId, runId }, 'job stopped');
      else log.error({ err, errorId, runId }, 'job failed');
      await finish(jobs, runId, { outcome: 'failed', durationMs, errorId, message }, log);
      return { status: 'failed', job: name, runId, errorId, message, userError, durationMs, startedAt };
    }
  } finally {
    clearInterval(heartbeat);
    if (jobs.running.get(name) === mine) jobs.running.delete(name);
  }
}

/** A `running` row whose replica stopped sending heartbeats is closed as failed, freeing the job. */
async function takeOverStaleRun(trx: Kysely<Database>, jobs: Jobs, name: JobName, log: Logger): Promise<void> {
  const now = jobs.clock.now();
  const staleBefore = new Date(now.getTime() - jobs.staleAfterMs);
  const stale = await sql<{ id: bigint; replica_id: string }>`
    update job_runs
    set outcome = 'failed', finished_at = ${now},
        error_message = 'abandoned: its replica stopped sending heartbeats (crashed or was killed)'
    where job_name = ${name} and outcome = 'running' and heartbeat_at < ${staleBefore}
    returning id, replica_id`.execute(trx);
  for (const r of stale.rows) log.warn({ runId: r.id, replica: r.replica_id }, 'took over an abandoned job run');
}

async function runningElsewhere(jobs: Jobs, name: JobName): Promise<RunningJob | null> {
  const row = await jobs.db
    .selectFrom('job_runs')
    .select(['id', 'started_at', 'trigger', 'triggered_by', 'replica_id'])
    .where('job_name', '=', name)
    .where('outcome', '=', 'running')
    .executeTakeFirst();
  if (!row) return null;
  return { runId: row.id, startedAt: row.started_at, trigger: row.trigger, triggeredBy: row.triggered_by, replicaId: row.replica_id };
}

async function alreadyRunning(
  jobs: Jobs,
  name: JobName,
  running: RunningJob,
  trigger: JobTrigger,
  key: string | null,
  actor: Actor,
): Promise<JobRunResult> {
  let skippedRunId: bigint | null = null;
  // A tick that found the job busy is history worth seeing; a person who asked is told directly.
  if (trigger === 'schedule') {
    const now = jobs.clock.now();
    const summary = stringifyJson({ reason: 'already_running', running_run_id: running.runId, running_replica: running.replicaId });
    const row = await sql<{ id: bigint }>`
      insert into job_runs (job_name, fire_key, trigger, triggered_by, replica_id, started_at, heartbeat_at, finished_at, duration_ms, outcome, summary)
      values (${name}, ${key}, ${trigger}, ${actor.id}, ${jobs.replicaId}, ${now}, ${now}, ${now}, 0, 'skipped', ${summary}::jsonb)
      returning id`.execute(jobs.db);
    skippedRunId = row.rows[0]?.id ?? null;
    jobs.logger.warn({ job: name, fireKey: key, runningRunId: running.runId }, 'tick skipped: the job is still running');
  }
  return { status: 'already_running', job: name, running, skippedRunId };
}

type Finish =
  | { outcome: 'succeeded'; durationMs: number; summary: JobSummary }
  | { outcome: 'failed'; durationMs: number; errorId: string; message: string };

async function finish(jobs: Jobs, runId: bigint, f: Finish, log: Logger): Promise<void> {
  const now = jobs.clock.now();
  try {
    if (f.outcome === 'succeeded') {
      await sql`
        update job_runs set outcome = 'succeeded', finished_at = ${now}, heartbeat_at = ${now}, duration_ms = ${f.durationMs},
          summary = ${stringifyJson(f.summary)}::jsonb
        where id = ${runId}`.execute(jobs.db);
    } else {
      await sql`
        update job_runs set outcome = 'failed', finished_at = ${now}, heartbeat_at = ${now}, duration_ms = ${f.durationMs},
          error_message = ${f.message.slice(0, 2000)}, error_id = ${f.errorId}
        where id = ${runId}`.execute(jobs.db);
    }
  } catch (err) {
    // The row stays `running` until its heartbeat goes stale and another run takes it over.
    log.error({ err, runId }, 'could not record the end of a job run');
  }
}

/** Stop: tell running jobs to wind down (abort signal) and wait for them, at most `timeoutMs`. */
export async function drainJobs(jobs: Jobs, timeoutMs = 20_000): Promise<void> {
  jobs.shutdown.abort();
  if (jobs.inFlight.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([Promise.allSettled([...jobs.inFlight]), timeout]);
  clearTimeout(timer);
}
