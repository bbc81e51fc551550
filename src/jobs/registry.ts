import type { WebClient } from '@slack/web-api';
import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { ApprovalRequestView } from '../approvals/index.js';
import type { Actor } from '../audit/index.js';
import type { CollectionsNotifier } from '../collections/index.js';
import type { BillopsFile, Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Clock, Logger } from '../util/index.js';
import type { JobTrigger } from './tables.js';

/** Every job billops knows, as named under `schedules:` in billops.yml. */
export type JobName = keyof BillopsFile['schedules'];

/** What each job is, in the words `/billing jobs` and `billops jobs list` use. */
export const JOB_TITLES: Record<JobName, string> = {
  reconcile: 'Reconcile Stripe against the GL',
  exception_digest: 'Daily exception digest',
  straggler_alerts: 'High-value straggler DMs',
  stripe_backfill: 'Stripe backfill (safety net for missed webhooks)',
  approval_outbox: 'Execute approved money actions (safety net for the outbox worker)',
  approval_expiry: 'Expire undecided approval requests',
  collections: 'Collections: dunning steps due today',
};

export const JOB_NAMES = Object.keys(JOB_TITLES) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_TITLES, name);
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** What a run leaves in `job_runs.summary`: plain JSON (bigints as strings). */
export type JobSummary = { [key: string]: JsonValue };

/** Everything one run gets. */
export interface JobRunContext {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  logger: Logger;
  runId: bigint;
  jobName: JobName;
  /** The scheduled instant for a tick; when it was asked for otherwise. */
  fireTime: Date;
  trigger: JobTrigger;
  /** Who started it (the scheduler itself for ticks), for the audit log. */
  actor: Actor;
  /** Aborted when the replica shuts down; long jobs stop at a safe point. */
  signal: AbortSignal;
}

export type JobBody = (ctx: JobRunContext) => Promise<JobSummary>;

/** What job bodies may need besides the run context: the clients the composition root built. */
export interface JobDeps {
  config: Config;
  /** The bot's Web API client (absent in a process that does not talk to Slack). */
  slack?: WebClient | undefined;
  /** Stripe's client, built on first use (it needs STRIPE_SECRET_KEY). */
  stripe?: (() => Stripe) | undefined;
  /** Told about every approval request the approval jobs settle or expire (the Slack side updates its message). */
  onApprovalSettled?: ((r: ApprovalRequestView) => Promise<void>) | undefined;
  /** How collections steps reach Slack; default the plain-text notifier on `slack` (src/collections). */
  collectionsNotifier?: CollectionsNotifier | undefined;
}

/**
 * A job's body from the process's clients, or a reason it cannot run here (shown in the job list).
 * One of these per job in `JOB_BODIES` (definitions.ts).
 */
export type JobFactory = (deps: JobDeps) => JobBody | { unavailable: string };

export interface JobDefinition {
  name: JobName;
  title: string;
  /** Cron expression from `schedules:`, or `off`. */
  schedule: string;
  /** Absent when the job has no body (yet) or cannot run in this process; see `unavailable`. */
  run?: JobBody;
  unavailable?: string;
}

export type JobBodies = Partial<Record<JobName, JobFactory>>;

/** The definitions for this process: every job in `schedules:`, with the bodies that exist. */
export function buildJobDefinitions(deps: JobDeps, bodies: JobBodies): JobDefinition[] {
  return JOB_NAMES.map((name) => {
    const base = { name, title: JOB_TITLES[name], schedule: deps.config.file.schedules[name] };
    const factory = bodies[name];
    if (!factory) return { ...base, unavailable: 'not built yet' };
    const body = factory(deps);
    return typeof body === 'function' ? { ...base, run: body } : { ...base, unavailable: body.unavailable };
  });
}
