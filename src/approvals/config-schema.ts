import { z } from 'zod';

/**
 * `approvals:` in billops.yml — the money-action policy. Every key has a default, so an empty
 * section (or none) gives a working policy: credits up to 100 USD go through at once, up to
 * 5,000 USD need one approver, more need two.
 */

/** "5000.00 USD" or "USD 5000"; parsed by the money module when the policy is read. */
const moneyText = z
  .string()
  .trim()
  .regex(/^(?:[A-Z]{3}\s+\d+(?:\.\d+)?|\d+(?:\.\d+)?\s+[A-Z]{3})$/, 'must be an amount with its currency, e.g. "5000.00 USD"');

/** One amount band: requests at or below `up_to` (the first band that fits) need `approvers` approvals. */
const band = z
  .object({
    /** Absent on the last band, which takes every amount above the others (and requests without an amount). */
    up_to: moneyText.optional(),
    approvers: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  })
  .strict();

function moneyParts(text: string): { currency: string; value: string } {
  const t = text.trim();
  const lead = /^([A-Z]{3})\s+(\S+)$/.exec(t);
  if (lead) return { currency: lead[1] as string, value: lead[2] as string };
  const [value = '', currency = ''] = t.split(/\s+/);
  return { currency, value };
}

/** Decimal strings compared without floats: "100.5" < "5000". */
function lessThan(a: string, b: string): boolean {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  const ia = BigInt(ai);
  const ib = BigInt(bi);
  if (ia !== ib) return ia < ib;
  const len = Math.max(af.length, bf.length);
  return BigInt(af.padEnd(len, '0') || '0') < BigInt(bf.padEnd(len, '0') || '0');
}

const bands = z
  .array(band)
  .min(1)
  .superRefine((list, ctx) => {
    list.forEach((b, i) => {
      const last = i === list.length - 1;
      if (last && b.up_to !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i, 'up_to'], message: 'the last band takes every larger amount: leave out its up_to' });
      }
      if (!last && b.up_to === undefined) {
        ctx.addIssue({ code: 'custom', path: [i, 'up_to'], message: 'every band but the last needs an up_to amount' });
      }
    });
    const limits = list.flatMap((b) => (b.up_to ? [moneyParts(b.up_to)] : []));
    const currencies = new Set(limits.map((l) => l.currency));
    if (currencies.size > 1) ctx.addIssue({ code: 'custom', message: `the bands of one action use one currency (found ${[...currencies].join(', ')})` });
    for (let i = 1; i < limits.length; i++) {
      const prev = limits[i - 1];
      const cur = limits[i];
      if (prev && cur && !lessThan(prev.value, cur.value)) {
        ctx.addIssue({ code: 'custom', path: [i, 'up_to'], message: 'up_to amounts must grow from one band to the next' });
      }
    }
  });

const reasonCode = z
  .object({
    code: z.string().regex(/^[a-z][a-z0-9_]{1,39}$/, 'must be lower_snake_case, 2–40 characters, e.g. goodwill'),
    label: z.string().trim().min(1).max(75),
  })
  .strict();

export const DEFAULT_REASON_CODES = [
  { code: 'goodwill', label: 'Goodwill' },
  { code: 'service_outage', label: 'Service outage' },
  { code: 'billing_error', label: 'Billing error' },
  { code: 'sales_concession', label: 'Sales concession' },
  { code: 'duplicate_charge', label: 'Duplicate charge' },
] as const;

const writeOffBands = [{ up_to: '5000.00 USD', approvers: 1 as const }, { approvers: 2 as const }];

export const approvalsPoliciesSchema = z
  .object({
    credit: bands.default([{ up_to: '100.00 USD', approvers: 0 }, { up_to: '5000.00 USD', approvers: 1 }, { approvers: 2 }]),
    extend_trial: bands.default([{ approvers: 1 }]),
    pause_collection: bands.default([{ approvers: 1 }]),
    resume_collection: bands.default([{ approvers: 0 }]),
    cancel_at_period_end: bands.default([{ approvers: 1 }]),
    undo_cancel: bands.default([{ approvers: 0 }]),
    void_invoice: bands.default(writeOffBands),
    mark_uncollectible: bands.default(writeOffBands),
    resolve_exception: bands.default([{ up_to: '5000.00 USD', approvers: 0 }, { approvers: 1 }]),
  })
  .strict();

export const approvalsExecutorSchema = z
  .object({
    /** Stripe calls per request before it is marked failed (a person can retry it). */
    max_attempts: z.number().int().min(1).max(20).default(5),
    /** Wait before the 2nd attempt; doubles each time. */
    backoff_seconds: z.number().int().min(1).max(3600).default(30),
    /** The wait never grows beyond this. */
    max_backoff_seconds: z.number().int().min(1).max(86_400).default(1800),
    /** A replica that dies holding a request: another takes it after this. Longer than a Stripe call can take. */
    lease_seconds: z.number().int().min(10).max(3600).default(120),
    /** Requests claimed per run. */
    batch_size: z.number().int().min(1).max(100).default(10),
    /** How often each `billops serve` replica looks for approved requests (besides being nudged at once). */
    poll_interval_ms: z.number().int().min(100).max(600_000).default(5000),
  })
  .strict();

export const approvalsConfigSchema = z
  .object({
    /** A pending request nobody decided within this many hours expires. */
    expire_after_hours: z.number().int().min(1).max(720).default(72),
    reason_codes: z
      .array(reasonCode)
      .min(1)
      .default(DEFAULT_REASON_CODES.map((r) => ({ ...r })))
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((r, i) => {
          if (seen.has(r.code)) ctx.addIssue({ code: 'custom', path: [i, 'code'], message: `"${r.code}" is listed twice` });
          seen.add(r.code);
        });
      }),
    policies: approvalsPoliciesSchema.default(approvalsPoliciesSchema.parse({})),
    executor: approvalsExecutorSchema.default(approvalsExecutorSchema.parse({})),
  })
  .strict();

export type ApprovalsConfig = z.infer<typeof approvalsConfigSchema>;
export type ApprovalBand = z.infer<typeof band>;
