import { z } from 'zod';
import { checkCreditBalances, configRoleChecker, expireRequests, runOutbox } from '../approvals/index.js';
import { type CollectionsRunSummary, plainTextNotifier, runCollections, stripeCollectionsClient } from '../collections/index.js';
import { type ReconcileSummary, reconcile } from '../matching/index.js';
import { runBackfill } from '../stripe/index.js';
import { postExceptionDigest, sendStragglerAlerts } from '../slack/digests/index.js';
import { toJsonSafe } from '../util/index.js';
import type { JobBodies, JobFactory, JobSummary } from './registry.js';

/** A reconcile run's summary as it is kept in `job_runs.summary` (and shown in Slack). */
const totalsSchema = z.object({ count: z.number(), amounts: z.record(z.string(), z.string()) });
export const reconcileJobSummarySchema = z.object({
  runId: z.string(),
  durationMs: z.number(),
  refreshed: z.number(),
  matches: z.number(),
  billing: z.object({ matched: totalsSchema, billingOnly: totalsSchema }),
  gl: z.object({ matched: totalsSchema, glOnly: totalsSchema, expected: totalsSchema }),
  exceptions: z.object({ opened: z.number(), reopened: z.number(), autoResolved: z.number(), updated: z.number(), active: z.number() }),
  /** The credit ledger checked against Stripe's customer balances after matching (src/approvals). */
  creditBalances: z
    .object({ checked: z.number(), mismatched: z.number(), opened: z.number(), reopened: z.number(), autoResolved: z.number(), waiting: z.number() })
    .optional(),
});
export type ReconcileJobSummary = z.infer<typeof reconcileJobSummarySchema>;

export function reconcileJobSummary(s: ReconcileSummary): ReconcileJobSummary {
  return {
    runId: s.runId.toString(),
    durationMs: s.durationMs,
    refreshed: s.refreshed,
    matches: s.rules.reduce((n, r) => n + r.matches, 0),
    billing: s.billing,
    gl: s.gl,
    exceptions: s.exceptions,
  };
}

/** `reconcile()` from src/matching with the configured rules; its own lock keeps runs apart. */
const reconcileJob: JobFactory = () => async (ctx) => {
  const summary = await reconcile(ctx.db, {
    file: ctx.config.file,
    matching: ctx.config.file.matching,
    clock: ctx.clock,
    actor: ctx.actor,
    source: ctx.trigger === 'schedule' ? 'scheduler' : ctx.trigger,
  });
  const creditBalances = await checkCreditBalances({ db: ctx.db, config: ctx.config, clock: ctx.clock, logger: ctx.logger });
  return { ...reconcileJobSummary(summary), creditBalances: { ...creditBalances } };
};

/** The approval outbox (safety net for each replica's worker): executes approved money actions that are due. */
const approvalOutboxJob: JobFactory = (deps) => async (ctx) => {
  const stripe = deps.stripe ?? (() => {
    throw new Error('STRIPE_SECRET_KEY is not set');
  });
  const total = { executed: 0, failed: 0, retried: 0 };
  const batch = ctx.config.file.approvals.executor.batch_size;
  // a few batches per tick; whatever is left waits for the next tick or a worker
  for (let round = 0; round < 10 && !ctx.signal.aborted; round++) {
    const res = await runOutbox({ db: ctx.db, config: ctx.config, clock: ctx.clock, logger: ctx.logger, roles: configRoleChecker(ctx.config), stripe, onSettled: deps.onApprovalSettled });
    total.executed += res.executed;
    total.failed += res.failed;
    total.retried += res.retried;
    if (res.executed + res.failed + res.retried < batch) break;
  }
  return total;
};

/** Pending approval requests past their expiry become `expired`; the Slack side updates their messages. */
const approvalExpiryJob: JobFactory = (deps) => async (ctx) => {
  const expired = await expireRequests({ db: ctx.db, config: ctx.config, clock: ctx.clock, logger: ctx.logger, roles: configRoleChecker(ctx.config) });
  for (const r of expired) {
    try {
      await deps.onApprovalSettled?.(r);
    } catch (err) {
      ctx.logger.error({ err, requestId: r.id }, 'approval expiry notification failed');
    }
  }
  return { expired: expired.length, requests: expired.map((r) => r.id) };
};

/** The resumable Stripe backfill, as `billops stripe backfill` runs it; stops between pages on shutdown. */
const stripeBackfillJob: JobFactory = (deps) => {
  const stripe = deps.stripe;
  if (!stripe || !deps.config.env.STRIPE_SECRET_KEY) return { unavailable: 'STRIPE_SECRET_KEY is not set' };
  return async (ctx) => {
    const res = await runBackfill({
      db: ctx.db,
      stripe: stripe(),
      actor: ctx.actor,
      source: ctx.trigger === 'schedule' ? 'scheduler' : ctx.trigger,
      pageSize: ctx.config.file.stripe.backfill_page_size,
      rateLimitRetries: ctx.config.file.stripe.backfill_rate_limit_retries,
      signal: ctx.signal,
      clock: ctx.clock,
      logger: ctx.logger,
    });
    const fetched = Object.values(res.steps).reduce((s, c) => s + c.fetched, 0);
    const changed = Object.values(res.steps).reduce((s, c) => s + c.changed, 0);
    return toJsonSafe({ backfillRunId: res.runId, resumed: res.resumed, fetched, changed, rateLimited: res.rateLimited }) as JobSummary;
  };
};

/** What a collections run leaves in `job_runs.summary`: counts, and the first steps it performed. */
export function collectionsJobSummary(s: CollectionsRunSummary): JobSummary {
  const { outcomes, ...counts } = s;
  return { ...counts, steps: outcomes.slice(0, 20).map((o) => `${o.invoiceId}:${o.step.id}:${o.status}`) };
}

/**
 * The collections job (src/collections): performs the dunning steps due today, each once per invoice
 * across replicas. Slack through `deps.collectionsNotifier` (the Slack side's Block Kit one) or the
 * plain-text notifier on the bot's client; Stripe's client is built only when a reminder needs it.
 */
const collectionsJob: JobFactory = (deps) => {
  const notifier = deps.collectionsNotifier ?? (deps.slack ? plainTextNotifier(deps.slack) : undefined);
  if (!notifier) return { unavailable: 'SLACK_BOT_TOKEN is not set' };
  return async (ctx) => {
    const stripe = () => {
      if (!deps.stripe || !ctx.config.env.STRIPE_SECRET_KEY) throw new Error('STRIPE_SECRET_KEY is not set: Stripe cannot send the invoice');
      return stripeCollectionsClient(deps.stripe());
    };
    const summary = await runCollections({
      db: ctx.db,
      config: ctx.config,
      clock: ctx.clock,
      logger: ctx.logger,
      notifier,
      stripe,
      actor: ctx.actor,
      source: ctx.trigger === 'schedule' ? 'scheduler' : ctx.trigger,
      signal: ctx.signal,
    });
    return collectionsJobSummary(summary);
  };
};

/**
 * What each job does. A job with no entry here is listed (in `/billing jobs`, `billops jobs list`)
 * but not scheduled. Adding one is one line: `exception_digest: (deps) => (ctx) => …`, returning a
 * JSON summary of what the run did.
 */
/** A scheduled Slack post, with the bot's client. */
function slackPost(post: typeof postExceptionDigest | typeof sendStragglerAlerts): JobFactory {
  return (deps) => {
    const client = deps.slack;
    if (!client) return { unavailable: 'SLACK_BOT_TOKEN is not set' };
    return async (ctx) => toJsonSafe(await post({ config: ctx.config, db: { db: ctx.db }, clock: ctx.clock, logger: ctx.logger }, client)) as JobSummary;
  };
}

export const JOB_BODIES: JobBodies = {
  reconcile: reconcileJob,
  exception_digest: slackPost(postExceptionDigest),
  straggler_alerts: slackPost(sendStragglerAlerts),
  stripe_backfill: stripeBackfillJob,
  approval_outbox: approvalOutboxJob,
  approval_expiry: approvalExpiryJob,
  collections: collectionsJob,
};
