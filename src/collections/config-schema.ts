import { z } from 'zod';

/**
 * `collections:` in billops.yml — the dunning policy. Every key has a default, so an empty section
 * (or none) gives a working policy: invoices sent for payment (net terms) get reminders through
 * Stripe before and after the due date, an escalation to the account owner at +14 days and formal
 * collections in the finance channel at +30; automatically charged invoices rely on Stripe's own
 * retries (recorded, not repeated) and escalate the same way.
 *
 * Imported by src/config/schema.ts directly (not through the collections index) so loading the config
 * never pulls in the engine.
 */

const slackUser = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U0123ABCD');
const channelRef = z
  .string()
  .regex(/^(?:collections|finance|[CG][A-Z0-9]{2,})$/, 'must be `collections`, `finance` (the channels under slack.channels) or a channel id such as C0123ABCD');

/** "5000.00 USD" or "USD 5000"; parsed by the money module when the policy is compiled. */
const moneyText = z
  .string()
  .trim()
  .regex(/^(?:[A-Z]{3}\s+\d+(?:\.\d+)?|\d+(?:\.\d+)?\s+[A-Z]{3})$/, 'must be an amount with its currency, e.g. "10000.00 USD"');

const id = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'must be lower_snake_case, at most 40 characters, e.g. overdue_7');

export const STEP_KINDS = ['reminder', 'follow_up', 'escalation', 'formal'] as const;

export const stepSchema = z
  .object({
    /** Names the step in the ledger of what was done: (invoice, step id) happens once. Same id in two segments = the same step. */
    id,
    /** Days from the invoice's due date, in org.timezone: -3 is three days before, 14 two weeks after. */
    day: z.number().int().min(-90).max(730),
    /** What it is, for people (digest, messages): reminder, follow_up, escalation or formal. */
    kind: z.enum(STEP_KINDS),
    /** Shown in messages and the digest; default from kind and day ("Follow-up, 7 days overdue"). */
    label: z.string().trim().min(1).max(75).optional(),
    /** Remind the customer: Stripe sends the invoice again (send_invoice) or, for charged-automatically invoices, Stripe's retry schedule is recorded. */
    remind_customer: z.boolean().default(false),
    /** DM the account owner (customer metadata `owner_metadata_key`, else the segment's `owner_fallback`). */
    dm_owner: z.boolean().default(false),
    /** DM the collections lead (the segment's `lead`, else `collections.lead`). */
    dm_lead: z.boolean().default(false),
    /** Post to a channel: `collections` / `finance` (slack.channels) or a channel id. */
    post_channel: channelRef.optional(),
  })
  .strict()
  .refine((s) => s.remind_customer || s.dm_owner || s.dm_lead || s.post_channel !== undefined, {
    message: 'a step must do something: remind_customer, dm_owner, dm_lead or post_channel',
  });

const oneOrMany = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const segmentMatchSchema = z
  .object({
    /** Customer metadata: every key must have (one of) the value(s). */
    metadata: z.record(z.string().min(1), oneOrMany).optional(),
    /** The invoice bills one of these prices (a line or its subscription). */
    prices: z.array(z.string().min(1)).min(1).optional(),
    /** … or one of these products. */
    products: z.array(z.string().min(1)).min(1).optional(),
    collection_method: z.enum(['send_invoice', 'charge_automatically']).optional(),
    /** Invoice total at or above / below this (other currencies through org.fx_rates; without a rate the condition does not hold). */
    min_amount: moneyText.optional(),
    max_amount: moneyText.optional(),
  })
  .strict()
  .refine((m) => Object.values(m).some((v) => v !== undefined), { message: 'a match needs at least one condition' });

export const segmentSchema = z
  .object({
    name: id,
    /** Every condition given must hold. A segment without `match` is only chosen as `default_segment`. */
    match: segmentMatchSchema.optional(),
    /** Who gets the owner DM when the customer's metadata names nobody. */
    owner_fallback: slackUser.optional(),
    /** Who gets `dm_lead` steps of this segment (else `collections.lead`). */
    lead: slackUser.optional(),
    steps: z
      .array(stepSchema)
      .min(1)
      .superRefine((steps, ctx) => {
        const seen = new Set<string>();
        steps.forEach((s, i) => {
          if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `step "${s.id}" is listed twice` });
          seen.add(s.id);
          const prev = steps[i - 1];
          if (prev && s.day <= prev.day) ctx.addIssue({ code: 'custom', path: [i, 'day'], message: 'steps are listed by day, each later than the one before' });
        });
      }),
  })
  .strict();

export type CollectionsStepConfig = z.infer<typeof stepSchema>;
export type CollectionsSegmentConfig = z.infer<typeof segmentSchema>;
export type CollectionsSegmentMatch = z.infer<typeof segmentMatchSchema>;

const step = (s: z.input<typeof stepSchema>) => stepSchema.parse(s);

/** The shipped policy: enterprise (send_invoice, net terms) and self-serve (card, charged automatically). */
export const DEFAULT_SEGMENTS: CollectionsSegmentConfig[] = [
  {
    name: 'enterprise',
    match: { collection_method: 'send_invoice' },
    steps: [
      step({ id: 'due_soon', day: -3, kind: 'reminder', label: 'Reminder: due in 3 days', remind_customer: true }),
      step({ id: 'overdue_1', day: 1, kind: 'reminder', label: 'Reminder: 1 day overdue', remind_customer: true }),
      step({ id: 'overdue_7', day: 7, kind: 'follow_up', label: 'Follow-up: 7 days overdue', remind_customer: true, post_channel: 'collections' }),
      step({ id: 'escalate_owner', day: 14, kind: 'escalation', label: 'Escalated to the account owner', dm_owner: true, post_channel: 'collections' }),
      step({ id: 'formal', day: 30, kind: 'formal', label: 'Formal collections', post_channel: 'finance', dm_lead: true }),
    ],
  },
  {
    name: 'self_serve',
    steps: [
      step({ id: 'payment_failed_1', day: 1, kind: 'reminder', label: 'Card payment failed: Stripe retrying', remind_customer: true }),
      step({ id: 'payment_failed_7', day: 7, kind: 'follow_up', label: 'Follow-up: unpaid 7 days', remind_customer: true, post_channel: 'collections' }),
      step({ id: 'escalate_owner', day: 14, kind: 'escalation', label: 'Escalated to the account owner', dm_owner: true, post_channel: 'collections' }),
      step({ id: 'formal', day: 30, kind: 'formal', label: 'Formal collections', post_channel: 'finance', dm_lead: true }),
    ],
  },
];

export const collectionsConfigSchema = z
  .object({
    /** false: the collections job performs nothing (aging, failed payments and the digest still work). */
    enabled: z.boolean().default(true),
    /** Customer metadata key holding the account owner's Slack user id. */
    owner_metadata_key: z.string().min(1).max(40).default('account_owner'),
    /** The collections lead (DMed by `dm_lead` steps) when a segment names none. */
    lead: slackUser.optional(),
    /**
     * Invoices without a due date (charged automatically): `finalized` — due `undated_net_days` after
     * they were finalized; `skip` — not dunned (aging still counts them, due at finalization + net days).
     */
    undated_invoices: z.enum(['finalized', 'skip']).default('finalized'),
    undated_net_days: z.number().int().min(0).max(365).default(0),
    /** A promise-to-pay pause lasts at most this many days. */
    max_pause_days: z.number().int().min(1).max(365).default(60),
    /** A step whose side effect failed is retried on the next runs, this many attempts in all. */
    max_attempts: z.number().int().min(1).max(20).default(5),
    /** Steps claimed per round of a run (each claim holds its invoice for `lease_minutes`). */
    batch_size: z.number().int().min(1).max(5000).default(200),
    /** A replica that dies holding a step: another takes it after this. */
    lease_minutes: z.number().int().min(1).max(1440).default(30),
    /** Segments in order: the first whose `match` holds decides; none → `default_segment`. */
    segments: z.array(segmentSchema).min(1).default(DEFAULT_SEGMENTS),
    default_segment: id.default('self_serve'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.segments.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['segments', i, 'name'], message: `segment "${s.name}" is listed twice` });
      names.add(s.name);
      if (!s.match && s.name !== c.default_segment) {
        ctx.addIssue({ code: 'custom', path: ['segments', i, 'match'], message: `segment "${s.name}" has no match, so only default_segment could choose it` });
      }
    });
    if (!names.has(c.default_segment)) {
      ctx.addIssue({ code: 'custom', path: ['default_segment'], message: `"${c.default_segment}" is not one of the segments (${[...names].join(', ')})` });
    }
  });

export type CollectionsConfig = z.infer<typeof collectionsConfigSchema>;
