import { type Kysely, sql } from 'kysely';

/**
 * Scheduled jobs.
 *
 * `job_fires` is the run coordinator: one row per scheduled tick (`job:fireTime`, the scheduled
 * instant, never the moment a replica happened to wake up). Every replica tries to insert it; the
 * one whose insert went in runs the tick.
 *
 * `job_runs` is the history people read in `/billing jobs`: one row per run (or skipped tick), with
 * who or what started it and how it ended. At most one run of a job is `running` at a time across
 * every replica (the partial unique index); a run whose replica stopped sending heartbeats is taken
 * over as failed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table job_fires (
      fire_key text primary key,
      job_name text not null,
      fire_time timestamptz not null,
      replica_id text not null,
      claimed_at timestamptz not null
    )`.execute(db);
  await sql`create index job_fires_claimed_idx on job_fires (claimed_at)`.execute(db);

  await sql`
    create table job_runs (
      id bigint generated always as identity primary key,
      job_name text not null,
      fire_key text,
      trigger text not null check (trigger in ('schedule', 'manual', 'slack', 'cli')),
      triggered_by text not null,
      replica_id text not null,
      started_at timestamptz not null,
      heartbeat_at timestamptz not null,
      finished_at timestamptz,
      duration_ms integer,
      outcome text not null check (outcome in ('running', 'succeeded', 'failed', 'skipped')),
      error_message text,
      error_id text,
      summary jsonb
    )`.execute(db);
  await sql`create unique index job_runs_one_running_idx on job_runs (job_name) where outcome = 'running'`.execute(db);
  await sql`create index job_runs_job_started_idx on job_runs (job_name, started_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists job_runs`.execute(db);
  await sql`drop table if exists job_fires`.execute(db);
}
