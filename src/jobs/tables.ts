import type { Generated } from 'kysely';
import type { Json, Timestamp } from '../db/types.js';

/** How a run was started. */
export type JobTrigger = 'schedule' | 'manual' | 'slack' | 'cli';
export type JobOutcome = 'running' | 'succeeded' | 'failed' | 'skipped';

/** One claimed scheduled tick (migrations/0005_jobs.ts). */
export interface JobFiresTable {
  /** `job_name:fireTimeISO`, the scheduled instant truncated to the second. */
  fire_key: string;
  job_name: string;
  fire_time: Timestamp;
  /** The replica whose insert went in, and so ran the tick. */
  replica_id: string;
  claimed_at: Timestamp;
}

/** One run of a job, or one tick skipped because the job was still running. */
export interface JobRunsTable {
  id: Generated<bigint>;
  job_name: string;
  /** The tick's key for scheduled runs; null for runs a person started. */
  fire_key: string | null;
  trigger: JobTrigger;
  /** Slack user id, OS user for the CLI, `scheduler` for ticks. */
  triggered_by: string;
  replica_id: string;
  started_at: Timestamp;
  /** Moved forward while the run is alive; a stale one is taken over as failed. */
  heartbeat_at: Timestamp;
  finished_at: Timestamp | null;
  duration_ms: number | null;
  outcome: JobOutcome;
  error_message: string | null;
  /** The id in the logs (and shown to people) for an unexpected failure. */
  error_id: string | null;
  summary: Json | null;
}

export interface JobsTables {
  job_fires: JobFiresTable;
  job_runs: JobRunsTable;
}
