import { type Money, scaleMinor } from '../money/index.js';

/** Statuses in which a subscription's price counts as monthly recurring revenue. */
export const MRR_STATUSES: readonly string[] = ['active', 'past_due'];

export type BillingInterval = 'day' | 'week' | 'month' | 'year';

export function isBillingInterval(value: string | null | undefined): value is BillingInterval {
  return value === 'day' || value === 'week' || value === 'month' || value === 'year';
}

/** Months per interval as a fraction: a year is 12 months, a week 12/52 of one, a day 12/365. */
const PER_MONTH: Record<BillingInterval, { numerator: bigint; denominator: bigint }> = {
  month: { numerator: 1n, denominator: 1n },
  year: { numerator: 1n, denominator: 12n },
  week: { numerator: 52n, denominator: 12n },
  day: { numerator: 365n, denominator: 12n },
};

/**
 * What a recurring price earns in a month, in minor units: yearly / 12, weekly × 52 / 12,
 * daily × 365 / 12, every `count` intervals divided by `count`; rounded half-even once.
 */
export function monthlyAmount(unitAmount: bigint, quantity: bigint, interval: BillingInterval, count = 1): bigint {
  const f = PER_MONTH[interval];
  const every = BigInt(Math.max(1, Math.trunc(count)));
  return scaleMinor(unitAmount * quantity, f.numerator, f.denominator * every);
}

/** Add amounts per currency; the result is sorted by currency code. */
export function sumByCurrency(amounts: readonly Money[]): Money[] {
  const totals = new Map<string, bigint>();
  for (const m of amounts) totals.set(m.currency, (totals.get(m.currency) ?? 0n) + m.amount);
  return [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, amount]) => ({ amount, currency }));
}
