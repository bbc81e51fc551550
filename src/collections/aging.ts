import { type RawBuilder, sql } from 'kysely';
import { type Money, convertMinor, currencyExponent, money } from '../money/index.js';
import { today } from './days.js';
import { compilePolicy } from './policy.js';
import { OWED_SQL } from './sql.js';
import type { CollectionsDeps } from './types.js';

/**
 * Accounts-receivable aging: every owed invoice (open, something left to pay) by whole days past its
 * due day in org.timezone — the due date, or for invoices without one (charged automatically) the day
 * they were finalized plus `collections.undated_net_days`. Buckets: `current` (not yet past due),
 * `1-30`, `31-60`, `61-90`, `90+`. Amounts are what is left to pay, summed per currency; when
 * `org.fx_rates` has rates, each total is also given in the reporting currency (each currency's sum
 * converted with its rate, half-even; currencies without a rate are left out and named).
 * One aggregate statement per question; nothing is summed in JavaScript but the per-currency totals.
 */

export const AGING_BUCKETS = ['current', '1-30', '31-60', '61-90', '90+'] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

export function isAgingBucket(s: string): s is AgingBucket {
  return (AGING_BUCKETS as readonly string[]).includes(s);
}

export interface AgingQuery {
  /** Only invoices in this bucket. */
  bucket?: AgingBucket | undefined;
  /** Only this customer's invoices. */
  customerId?: string | undefined;
  /** Top overdue accounts to list (default 10). */
  top?: number | undefined;
  /** With a bucket or customer filter: how many of its invoices to list (default 50). */
  invoiceLimit?: number | undefined;
}

/** A total in the reporting currency; `missingRates` names currencies it leaves out (no rate). */
export interface ReportingTotal {
  amount: Money;
  missingRates: string[];
}

export interface AgingBucketTotals {
  bucket: AgingBucket;
  count: number;
  /** Per currency, in code order; empty when the bucket is empty. */
  amounts: Money[];
  /** Null unless org.fx_rates has rates. */
  reporting: ReportingTotal | null;
}

export interface OverdueAccount {
  customerId: string | null;
  name: string | null;
  email: string | null;
  /** What is past due (days past due ≥ 1), in one currency: a customer owing in two appears twice. */
  amount: Money;
  /** `amount` in the reporting currency (the same amount when it is in it), or null without a rate. */
  reporting: Money | null;
  invoices: number;
  oldestDaysPastDue: number;
}

export interface AgingInvoice {
  invoiceId: string;
  number: string | null;
  customerId: string | null;
  customerName: string | null;
  amountRemaining: Money;
  dueOn: string;
  daysPastDue: number;
  bucket: AgingBucket;
  collectionMethod: string | null;
}

export interface AgingReport {
  /** The day aging is counted to, in `timezone`. */
  asOf: string;
  timezone: string;
  reportingCurrency: string;
  /** Whether org.fx_rates has rates (reporting-currency totals are given only then). */
  converted: boolean;
  filter: { bucket: AgingBucket | null; customerId: string | null };
  /** Every bucket in order (only the filtered one when `bucket` is given). */
  buckets: AgingBucketTotals[];
  total: { count: number; amounts: Money[]; reporting: ReportingTotal | null };
  /** Past due (every bucket but `current`). */
  overdue: { count: number; amounts: Money[]; reporting: ReportingTotal | null };
  /**
   * Largest past-due amounts first, compared in the reporting currency (other currencies through
   * org.fx_rates); accounts in a currency without a rate follow, longest past due first.
   */
  topOverdue: OverdueAccount[];
  /** The invoices themselves, oldest first, when a bucket or customer is asked for; else empty. */
  invoices: AgingInvoice[];
}

function bucketSql(dpd: RawBuilder<number>): RawBuilder<string> {
  return sql<string>`(case when ${dpd} <= 0 then 'current' when ${dpd} <= 30 then '1-30' when ${dpd} <= 60 then '31-60' when ${dpd} <= 90 then '61-90' else '90+' end)`;
}

/** What the conversions need: the rate of each currency (reporting units per unit), or none. */
function rateOf(deps: CollectionsDeps, currency: string): string | null {
  const org = deps.config.file.org;
  if (currency === org.reporting_currency) return '1';
  return org.fx_rates[currency] ?? null;
}

function reportingTotal(deps: CollectionsDeps, amounts: Money[]): ReportingTotal | null {
  const org = deps.config.file.org;
  if (Object.keys(org.fx_rates).length === 0) return null;
  let sum = 0n;
  const missing: string[] = [];
  for (const m of amounts) {
    const rate = rateOf(deps, m.currency);
    if (rate === null) missing.push(m.currency);
    else sum += m.currency === org.reporting_currency ? m.amount : convertMinor(m.amount, m.currency, org.reporting_currency, rate);
  }
  return { amount: money(sum, org.reporting_currency), missingRates: missing };
}

function addInto(map: Map<string, bigint>, currency: string, amount: bigint): void {
  map.set(currency, (map.get(currency) ?? 0n) + amount);
}

function amountsOf(map: Map<string, bigint>): Money[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([c, a]) => money(a, c));
}

/** AR aging as of today in org.timezone, optionally for one bucket or one customer. */
export async function agingReport(deps: CollectionsDeps, q: AgingQuery = {}): Promise<AgingReport> {
  const file = deps.config.file;
  const policy = compilePolicy(file);
  const tz = file.org.timezone;
  const asOf = today(tz, deps.clock.now());
  const converted = Object.keys(file.org.fx_rates).length > 0;
  const customerFilter = q.customerId ? sql`and i.customer_id = ${q.customerId}` : sql``;
  const aged = sql`
    select i.id, i.number, i.customer_id, i.currency, i.amount_remaining, i.collection_method, ${policy.dueOnSql} as due_on,
      ${asOf}::date - ${policy.dueOnSql} as dpd
    from stripe_invoices i
    where ${OWED_SQL} ${customerFilter}`;
  const bucketed = sql`select a.*, ${bucketSql(sql<number>`a.dpd`)} as bucket from (${aged}) a`;
  const bucketFilter = q.bucket ? sql`where b.bucket = ${q.bucket}` : sql``;

  const totals = await sql<{ bucket: AgingBucket; currency: string; n: string; amount: bigint }>`
    select b.bucket, b.currency, count(*)::text as n, sum(b.amount_remaining)::int8 as amount
    from (${bucketed}) b ${bucketFilter}
    group by b.bucket, b.currency`.execute(deps.db);

  const currencies = [...new Set(totals.rows.map((r) => r.currency))].sort();
  // Ranking value of a past-due sum: its worth in reporting-currency minor units (null without a rate).
  const factors = currencies.map((c) => {
    const shift = currencyExponent(file.org.reporting_currency) - currencyExponent(c);
    return sql`(${c}::text, ${rateOf(deps, c)}::numeric, ${shift}::int)`;
  });
  const overdueWhere = q.bucket ? sql`where b.bucket = ${q.bucket} and b.dpd > 0` : sql`where b.dpd > 0`;
  const [top, invoices] = await Promise.all([
    factors.length === 0
      ? Promise.resolve({ rows: [] })
      : sql<{ customer_id: string | null; name: string | null; email: string | null; currency: string; n: string; amount: bigint; oldest: number }>`
          select g.customer_id, c.name, c.email, g.currency, g.n, g.amount, g.oldest
          from (
            select b.customer_id, b.currency, count(*)::text as n, sum(b.amount_remaining)::int8 as amount, max(b.dpd)::int as oldest
            from (${bucketed}) b ${overdueWhere}
            group by b.customer_id, b.currency
          ) g
          join (values ${sql.join(factors)}) as f (currency, rate, shift) on f.currency = g.currency
          left join stripe_customers c on c.id = g.customer_id
          order by g.amount * f.rate * power(10::numeric, f.shift) desc nulls last, g.oldest desc, g.customer_id
          limit ${q.top ?? 10}`.execute(deps.db),
    q.bucket || q.customerId
      ? sql<{ id: string; number: string | null; customer_id: string | null; name: string | null; currency: string; amount_remaining: bigint; due_on: string; dpd: number; bucket: AgingBucket; collection_method: string | null }>`
          select b.id, b.number, b.customer_id, c.name, b.currency, b.amount_remaining, b.due_on, b.dpd, b.bucket, b.collection_method
          from (${bucketed}) b left join stripe_customers c on c.id = b.customer_id
          ${bucketFilter}
          order by b.dpd desc, b.amount_remaining desc, b.id
          limit ${q.invoiceLimit ?? 50}`.execute(deps.db)
      : Promise.resolve({ rows: [] }),
  ]);

  const byBucket = new Map<AgingBucket, { count: number; amounts: Map<string, bigint> }>();
  for (const b of AGING_BUCKETS) byBucket.set(b, { count: 0, amounts: new Map() });
  const all = new Map<string, bigint>();
  const overdue = new Map<string, bigint>();
  let count = 0;
  let overdueCount = 0;
  for (const r of totals.rows) {
    const slot = byBucket.get(r.bucket);
    if (!slot) continue;
    const n = Number(r.n);
    slot.count += n;
    addInto(slot.amounts, r.currency, r.amount);
    addInto(all, r.currency, r.amount);
    count += n;
    if (r.bucket !== 'current') {
      overdueCount += n;
      addInto(overdue, r.currency, r.amount);
    }
  }
  const buckets = (q.bucket ? [q.bucket] : AGING_BUCKETS).map((bucket): AgingBucketTotals => {
    const slot = byBucket.get(bucket) ?? { count: 0, amounts: new Map<string, bigint>() };
    const amounts = amountsOf(slot.amounts);
    return { bucket, count: slot.count, amounts, reporting: reportingTotal(deps, amounts) };
  });
  const rep = file.org.reporting_currency;
  return {
    asOf,
    timezone: tz,
    reportingCurrency: rep,
    converted,
    filter: { bucket: q.bucket ?? null, customerId: q.customerId ?? null },
    buckets,
    total: { count, amounts: amountsOf(all), reporting: reportingTotal(deps, amountsOf(all)) },
    overdue: { count: overdueCount, amounts: amountsOf(overdue), reporting: reportingTotal(deps, amountsOf(overdue)) },
    topOverdue: top.rows.map((r) => {
      const rate = rateOf(deps, r.currency);
      return {
        customerId: r.customer_id,
        name: r.name,
        email: r.email,
        amount: money(r.amount, r.currency),
        reporting: rate === null ? null : money(r.currency === rep ? r.amount : convertMinor(r.amount, r.currency, rep, rate), rep),
        invoices: Number(r.n),
        oldestDaysPastDue: r.oldest,
      };
    }),
    invoices: invoices.rows.map((r) => ({
      invoiceId: r.id,
      number: r.number,
      customerId: r.customer_id,
      customerName: r.name,
      amountRemaining: money(r.amount_remaining, r.currency),
      dueOn: r.due_on,
      daysPastDue: r.dpd,
      bucket: r.bucket,
      collectionMethod: r.collection_method,
    })),
  };
}
