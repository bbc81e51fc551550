// Scheduled jobs — public face: the job registry and its bodies, the Postgres-coordinated runner
// (exactly one run per tick across replicas, history in job_runs), the node-cron scheduler, and the
// job list people read.
export {
  type JobName,
  type JobBody,
  type JobBodies,
  type JobDeps,
  type JobFactory,
  type JobDefinition,
  type JobRunContext,
  type JobSummary,
  type JsonValue,
  JOB_NAMES,
  JOB_TITLES,
  isJobName,
  buildJobDefinitions,
} from './registry.js';
export { JOB_BODIES, type ReconcileJobSummary, reconcileJobSummarySchema, reconcileJobSummary } from './definitions.js';
export {
  type Jobs,
  type JobsOptions,
  type JobRunResult,
  type RunOptions,
  type RunningJob,
  createJobs,
  defaultReplicaId,
  claimFire,
  runJobOnce,
  runClaimed,
  runnableJob,
  drainJobs,
} from './runner.js';
export { type Scheduler, createScheduler, postgresRunCoordinator } from './scheduler.js';
export { type JobStatus, type JobLastRun, type JobsOverview, jobsOverview } from './status.js';
export { describeCron, fireKey, fireTimeOf, nextFireTime, nextFireTimes } from './cron.js';
export type { JobTrigger, JobOutcome, JobsTables } from './tables.js';
