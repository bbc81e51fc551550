import { createHash } from 'node:crypto';
import { z } from 'zod';

/** What Stripe says should be in the GL, one kind per expected posting. */
export const BILLING_KINDS = ['invoice', 'payment', 'credit_note', 'charge', 'refund', 'fee', 'payout', 'dispute'] as const;
export type BillingKind = (typeof BILLING_KINDS)[number];

/**
 * Which GL account class each billing kind lands on. Receivables carry invoices, the payments that
 * settle them and credit notes; the Stripe clearing account carries the money movements.
 */
export const ACCOUNT_CLASS_OF: Record<BillingKind, 'receivable' | 'clearing'> = {
  invoice: 'receivable',
  payment: 'receivable',
  credit_note: 'receivable',
  charge: 'clearing',
  refund: 'clearing',
  fee: 'clearing',
  payout: 'clearing',
  dispute: 'clearing',
};

const ruleName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, - or _ (e.g. exact-reference)');
const days = z.number().int().min(0).max(366);
const percent = z.string().regex(/^\d{1,3}(\.\d{1,6})?$/, 'must be a percentage as a decimal string, e.g. "0.5"');
const kinds = z.array(z.enum(BILLING_KINDS)).min(1);
const accountPattern = z.string().min(1);

const base = {
  name: ruleName,
  enabled: z.boolean().default(true),
  /** Billing kinds the rule applies to; all when omitted. */
  kinds: kinds.optional(),
};

export const exactRuleSchema = z.strictObject({
  ...base,
  kind: z.literal('exact'),
  /** GL date may be this many days before or after the billing date. */
  date_window_days: days.default(3),
});

export const toleranceRuleSchema = z
  .strictObject({
    ...base,
    kind: z.literal('tolerance'),
    date_window_days: days.default(5),
    /** Absolute difference allowed, in the currency's minor unit. */
    max_minor_units: z.number().int().min(0).max(1_000_000).optional(),
    /** Relative difference allowed, as a percentage of the billing amount. */
    max_percent: percent.optional(),
  })
  .refine((r) => r.max_minor_units !== undefined || r.max_percent !== undefined, {
    message: 'a tolerance rule needs max_minor_units and/or max_percent',
  });

export const fxRuleSchema = z.strictObject({
  ...base,
  kind: z.literal('fx'),
  date_window_days: days.default(5),
  /**
   * GL booked in another currency than Stripe charged: the GL amount may differ from Stripe's
   * settlement amount (or the configured rate's conversion) by this much.
   */
  max_percent: percent.default('2'),
});

export const windowRuleSchema = z.strictObject({
  ...base,
  kind: z.literal('window'),
  /** No shared reference: same customer, same amount and currency, dates this close. */
  date_window_days: days.default(7),
});

export const aggregateRuleSchema = z.strictObject({
  ...base,
  kind: z.literal('aggregate'),
  /**
   * one_to_many: one billing record against several GL lines carrying its reference (an invoice
   * whose prorated lines were posted separately). many_to_one: the billing records of one payout
   * against one GL line naming the payout (a bank deposit booked without a clearing account).
   */
  mode: z.enum(['one_to_many', 'many_to_one']),
  date_window_days: days.default(7),
  /** Difference allowed between the sum and the other side, in minor units. */
  max_minor_units: z.number().int().min(0).max(1_000_000).default(0),
});

export const expectedGlOnlyRuleSchema = z.strictObject({
  name: ruleName,
  enabled: z.boolean().default(true),
  kind: z.literal('expected_gl_only'),
  /** Account name patterns (`*` wildcard, case-insensitive). */
  accounts: z.array(accountPattern).optional(),
  /** Transaction types as the export names them, e.g. "Journal Entry", "Manual Journal". */
  transaction_types: z.array(z.string().min(1)).optional(),
  /** Case-insensitive regular expressions on the memo. */
  memo_patterns: z
    .array(
      z.string().refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'must be a valid regular expression'),
    )
    .optional(),
});

export const ruleSchema = z.discriminatedUnion('kind', [
  exactRuleSchema,
  toleranceRuleSchema,
  fxRuleSchema,
  windowRuleSchema,
  aggregateRuleSchema,
  expectedGlOnlyRuleSchema,
]);
export type MatchRule = z.infer<typeof ruleSchema>;

const accountClass = z.strictObject({
  /** GL account names of this class (`*` wildcard, case-insensitive). */
  accounts: z.array(accountPattern).min(1),
  /**
   * The side on which this class grows. Billing amounts are positive in that direction: an invoice
   * raises receivables (debit), a charge raises the clearing balance (debit).
   */
  normal_side: z.enum(['debit', 'credit']).default('debit'),
});

export const DEFAULT_RULES: MatchRule[] = [
  { name: 'exact-reference', kind: 'exact', enabled: true, date_window_days: 3 },
  { name: 'late-posting', kind: 'exact', enabled: true, date_window_days: 10 },
  { name: 'rounding', kind: 'tolerance', enabled: true, date_window_days: 5, max_minor_units: 2, max_percent: '0.05' },
  { name: 'fx-timing', kind: 'fx', enabled: true, date_window_days: 5, max_percent: '2' },
  { name: 'prorated-lines', kind: 'aggregate', enabled: true, mode: 'one_to_many', date_window_days: 5, max_minor_units: 0, kinds: ['invoice'] },
  { name: 'payout-deposit', kind: 'aggregate', enabled: true, mode: 'many_to_one', date_window_days: 10, max_minor_units: 0, kinds: ['charge', 'refund', 'fee', 'dispute'] },
  { name: 'refund-credit', kind: 'window', enabled: true, date_window_days: 7, kinds: ['refund', 'credit_note'] },
  { name: 'manual-journals', kind: 'expected_gl_only', enabled: true, transaction_types: ['Journal Entry', 'Manual Journal', 'Journal'] },
];

export const matchingSchema = z
  .strictObject({
    accounts: z
      .strictObject({
        receivable: accountClass.default({ accounts: ['Accounts Receivable*', 'Accounts receivable*'], normal_side: 'debit' }),
        clearing: accountClass.default({ accounts: ['Stripe Clearing*', 'Stripe*Clearing*'], normal_side: 'debit' }),
      })
      .default({
        receivable: { accounts: ['Accounts Receivable*', 'Accounts receivable*'], normal_side: 'debit' },
        clearing: { accounts: ['Stripe Clearing*', 'Stripe*Clearing*'], normal_side: 'debit' },
      }),
    /** A billing/GL pair in different currencies beyond this is an FX variance exception. */
    fx_tolerance_percent: percent.default('2'),
    rules: z.array(ruleSchema).min(1).default(DEFAULT_RULES),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${r.name}" is used twice` });
      seen.add(r.name);
    });
  });
export type MatchingConfig = z.infer<typeof matchingSchema>;

/** Stored on every run, so a result can be traced to the exact rules that produced it. */
export function rulesHash(m: MatchingConfig): string {
  const canonical = JSON.stringify({ accounts: m.accounts, fx: m.fx_tolerance_percent, rules: m.rules });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
