import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { matchingSchema } from '../matching/rules.js';
import { ledgerConfigSchema } from '../ledger/config-schema.js';
import { approvalsConfigSchema } from '../approvals/config-schema.js';
import { collectionsConfigSchema } from '../collections/config-schema.js';

/** Cron expression, 5 or 6 fields (node-cron accepts seconds as an optional first field). */
const cron = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    const v = validateDetailed(s);
    if (!v.valid) {
      const why = v.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a cron expression (${why || 'expected 5 or 6 fields, e.g. "0 7 * * 1-5"'})` });
    }
  });

const slackChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id such as C0123ABCD');
const slackUserOrGroup = z.string().regex(/^[USW][A-Z0-9]{2,}$/, 'must be a Slack user id (U…/W…) or user-group id (S…)');

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A money amount written in config: "5000.00 USD" or "USD 5000". Kept as text; the money module parses it. */
const moneyText = z
  .string()
  .trim()
  .regex(/^(?:[A-Z]{3}\s+\d+(?:\.\d+)?|\d+(?:\.\d+)?\s+[A-Z]{3})$/, 'must be an amount with its currency, e.g. "5000.00 USD"');

export const orgSchema = z
  .object({
    name: z.string().min(1).default('Demo Co'),
    timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as America/New_York').default('UTC'),
    /** Currency the books are kept in (GL entries without a currency column are in it). */
    functional_currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter currency code').default('USD'),
    /** Currency totals are reported in when several currencies are summed. */
    reporting_currency: z.string().regex(/^[A-Z]{3}$/, 'must be a three-letter currency code').default('USD'),
    /** Units of reporting currency per unit of each other currency, as decimal strings. */
    fx_rates: z.record(z.string().regex(/^[A-Z]{3}$/), z.string().regex(/^\d+(\.\d+)?$/, 'must be a decimal rate such as "1.08"')).default({}),
  })
  .strict();

export const slackSchema = z
  .object({
    channels: z
      .object({
        ops: slackChannelId.optional(),
        digest: slackChannelId.optional(),
        approvals: slackChannelId.optional(),
        collections: slackChannelId.optional(),
        finance: slackChannelId.optional(),
      })
      .strict()
      .default({}),
    on_call: slackUserOrGroup.optional(),
    /** Slash command name, if the app is installed under another one. */
    command: z.string().regex(/^\/[a-z0-9_-]+$/, 'must look like /billing').default('/billing'),
  })
  .strict();

export const rolesSchema = z
  .object({
    admin: z.array(slackUserOrGroup).default([]),
    approver: z.array(slackUserOrGroup).default([]),
    requester: z.array(slackUserOrGroup).default([]),
    importer: z.array(slackUserOrGroup).default([]),
    viewer: z.array(slackUserOrGroup).default([]),
  })
  .strict();

export const thresholdsSchema = z
  .object({
    /** An unmatched item at or above this is a high-value straggler. */
    high_value: moneyText.default('5000.00 USD'),
    /** New unmatched items in one day above this count is a threshold breach. */
    new_unmatched_per_day: z.number().int().min(0).default(25),
    /** Weeks in a row of a rising unmatched balance that make a drift alert. */
    drift_weeks: z.number().int().min(2).max(12).default(3),
  })
  .strict();

/** A job's schedule, or `off` to keep it from running on a schedule (it can still be run by hand). */
const schedule = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    if (s === 'off') return;
    const res = cron.safeParse(s);
    if (!res.success) for (const issue of res.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  });

export const schedulesSchema = z
  .object({
    reconcile: schedule.default('0 6 * * *'),
    exception_digest: schedule.default('30 8 * * 1-5'),
    straggler_alerts: schedule.default('0 10 * * 1-5'),
    stripe_backfill: schedule.default('15 */6 * * *'),
    approval_outbox: schedule.default('* * * * *'),
    approval_expiry: schedule.default('*/15 * * * *'),
    collections: schedule.default('0 9 * * *'),
  })
  .strict();

/** The webhook event queue (every replica runs a worker). */
export const stripeQueueSchema = z
  .object({
    /** Events claimed per round trip. */
    batch_size: z.number().int().min(1).max(500).default(50),
    /** Claim loops per replica. */
    concurrency: z.number().int().min(1).max(16).default(2),
    /** Sleep when the queue is empty. */
    poll_interval_ms: z.number().int().min(10).max(60_000).default(500),
    /** Lease on a claimed event; a crashed replica's events are retried after it. */
    visibility_timeout_seconds: z.number().int().min(5).max(3600).default(60),
    /** Attempts before an event is dead-lettered (status `failed`). */
    max_attempts: z.number().int().min(1).max(100).default(10),
  })
  .strict();

export const stripeSchema = z
  .object({
    /** Pinned API version the webhook endpoint is created with; empty means the account default. */
    api_version: z.string().optional(),
    /** Stripe API base URL, for a proxy; default Stripe's own. */
    api_url: z.url({ protocol: /^https?$/ }).optional(),
    webhook_tolerance_seconds: z.number().int().min(1).max(3600).default(300),
    backfill_page_size: z.number().int().min(1).max(100).default(100),
    /** A 429 during the backfill is waited out (exponential backoff) this many times in a row. */
    backfill_rate_limit_retries: z.number().int().min(0).max(20).default(8),
    /** stripe-node's own retries of network errors, 409 and 5xx. */
    max_network_retries: z.number().int().min(0).max(10).default(2),
    request_timeout_seconds: z.number().int().min(1).max(600).default(30),
    queue: stripeQueueSchema.default(stripeQueueSchema.parse({})),
  })
  .strict();

/** Sections grow with each capability; every one is optional and has defaults. */
export const billopsFileSchema = z
  .object({
    org: orgSchema.default(orgSchema.parse({})),
    slack: slackSchema.default(slackSchema.parse({})),
    roles: rolesSchema.default(rolesSchema.parse({})),
    thresholds: thresholdsSchema.default(thresholdsSchema.parse({})),
    schedules: schedulesSchema.default(schedulesSchema.parse({})),
    stripe: stripeSchema.default(stripeSchema.parse({})),
    matching: matchingSchema.default(matchingSchema.parse({})),
    ledger: ledgerConfigSchema.default(ledgerConfigSchema.parse({})),
    approvals: approvalsConfigSchema.default(approvalsConfigSchema.parse({})),
    collections: collectionsConfigSchema.default(collectionsConfigSchema.parse({})),
  })
  .strict()
  // GL rows without a currency column are in the books' currency unless ledger.default_currency says otherwise.
  .transform((f) => ({ ...f, ledger: { ...f.ledger, default_currency: f.ledger.default_currency ?? f.org.functional_currency } }));

export type BillopsFile = z.infer<typeof billopsFileSchema>;
