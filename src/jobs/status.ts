import { sql } from 'kysely';
import { describeCron, nextFireTime } from './cron.js';
import type { JobName } from './registry.js';
import type { Jobs } from './runner.js';
import type { JobOutcome, JobTrigger } from './tables.js';

export interface JobLastRun {
  runId: bigint;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: JobOutcome;
  durationMs: number | null;
  trigger: JobTrigger;
  triggeredBy: string;
  errorId: string | null;
  errorMessage: string | null;
}

/** One line of the job list: what it is, when it runs next, how it went last time. Plain data. */
export interface JobStatus {
  name: JobName;
  title: string;
  /** Cron expression, or `off`. */
  schedule: string;
  /** The schedule in words ("weekdays at 08:30"), null when it has no simple wording. */
  scheduleWords: string | null;
  timezone: string;
  /** `scheduled`: runs on its schedule; `off`: schedule set to off; `unavailable`: no body here. */
  state: 'scheduled' | 'off' | 'unavailable';
  unavailableReason: string | null;
  /** Null when the job is not scheduled. */
  nextFireAt: Date | null;
  lastRun: JobLastRun | null;
}

export interface JobsOverview {
  jobs: JobStatus[];
  timezone: string;
  /** Whether this replica runs scheduled ticks (BILLOPS_SCHEDULER). */
  schedulerOnHere: boolean;
  asOf: Date;
}

/** Every job with its schedule, next fire time in the org time zone, and last run. */
export async function jobsOverview(jobs: Jobs): Promise<JobsOverview> {
  const now = jobs.clock.now();
  const timezone = jobs.config.file.org.timezone;
  const rows = await sql<{
    id: bigint;
    job_name: string;
    started_at: Date;
    finished_at: Date | null;
    outcome: JobOutcome;
    duration_ms: number | null;
    trigger: JobTrigger;
    triggered_by: string;
    error_id: string | null;
    error_message: string | null;
  }>`
    select distinct on (job_name) id, job_name, started_at, finished_at, outcome, duration_ms, trigger, triggered_by, error_id, error_message
    from job_runs
    order by job_name, started_at desc, id desc`.execute(jobs.db);
  const last = new Map(rows.rows.map((r) => [r.job_name, r]));

  const out: JobStatus[] = [];
  for (const def of jobs.definitions.values()) {
    const state = !def.run ? 'unavailable' : def.schedule === 'off' ? 'off' : 'scheduled';
    const r = last.get(def.name);
    out.push({
      name: def.name,
      title: def.title,
      schedule: def.schedule,
      scheduleWords: def.schedule === 'off' ? null : describeCron(def.schedule),
      timezone,
      state,
      unavailableReason: def.run ? null : (def.unavailable ?? 'not built yet'),
      nextFireAt: state === 'scheduled' ? nextFireTime(def.schedule, timezone, now) : null,
      lastRun: r
        ? {
            runId: r.id,
            startedAt: new Date(r.started_at),
            finishedAt: r.finished_at ? new Date(r.finished_at) : null,
            outcome: r.outcome,
            durationMs: r.duration_ms,
            trigger: r.trigger,
            triggeredBy: r.triggered_by,
            errorId: r.error_id,
            errorMessage: r.error_message,
          }
        : null,
    });
  }
  return { jobs: out, timezone, schedulerOnHere: jobs.config.env.BILLOPS_SCHEDULER !== 'off', asOf: now };
}
