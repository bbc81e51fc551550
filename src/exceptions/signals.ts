import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { BillopsFile } from '../config/index.js';
import type { Database } from '../db/index.js';
import { type Money, convertMinor, currencyExponent, parseUserAmount } from '../money/index.js';
import { type Clock, systemClock } from '../util/index.js';
import { type ExceptionKind, type ExceptionStatus, KIND_LABELS, type Severity } from './kinds.js';
import { openCondition } from './service.js';
import { dayIn, startOfDayIn } from './snooze-date.js';

/**
 * Alert signals over the exception queue: threshold breach, high-value stragglers, drift. Each is a
 * set-based query that returns plain data; the Slack digest and the DM alerts decide what to say.
 *
 * "Unmatched" means the kinds the reconciliation produces — a record on one side with no (or a
 * disagreeing) counterpart on the other: missing in GL, missing in billing, amount mismatch, void not
 * reflected, duplicate in GL, FX variance over tolerance. Failed payments and open disputes are
 * Stripe's own state (collections work), not a gap between Stripe and the books, so they do not count.
 */
export const UNMATCHED_KINDS: readonly ExceptionKind[] = [
  'missing_in_gl',
  'missing_in_billing',
  'amount_mismatch',
  'void_not_reflected',
  'duplicate_in_gl',
  'fx_variance_over_tolerance',
];

/** The alert settings from billops.yml (`thresholds`, `org`). */
export interface SignalSettings {
  timezone: string;
  reportingCurrency: string;
  /** Units of reporting currency per unit of each other currency. */
  fxRates: Record<string, string>;
  highValue: Money;
  newUnmatchedPerDay: number;
  driftWeeks: number;
}

export function signalSettings(file: BillopsFile): SignalSettings {
  return {
    timezone: file.org.timezone,
    reportingCurrency: file.org.reporting_currency,
    fxRates: file.org.fx_rates,
    highValue: parseUserAmount(file.thresholds.high_value),
    newUnmatchedPerDay: file.thresholds.new_unmatched_per_day,
    driftWeeks: file.thresholds.drift_weeks,
  };
}

/** `YYYY-MM-DD` plus `days` (calendar arithmetic, no time zone involved). */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days)).toISOString().slice(0, 10);
}

function unmatchedKinds(): RawBuilder<unknown> {
  return sql`e.kind = any(${[...UNMATCHED_KINDS]}::text[])`;
}

// ---------------------------------------------------------------------------------------------
// Threshold breach
// ---------------------------------------------------------------------------------------------

export interface ThresholdBreach {
  /** Today, `YYYY-MM-DD` in the org time zone. */
  day: string;
  timezone: string;
  /** The instants today starts and ends in that zone. */
  from: Date;
  to: Date;
  count: number;
  limit: number;
  /** More than `limit` new unmatched items today. */
  breached: boolean;
  byKind: Array<{ kind: ExceptionKind; label: string; count: number }>;
}

/**
 * New unmatched exceptions opened today (in the org time zone) against `new_unmatched_per_day`.
 * An exception the reconciliation opened and auto-resolved the same day was a timing artefact, not a
 * new gap, so it does not count; one a person already resolved does (it was a real item).
 */
export async function thresholdBreach(db: Kysely<Database>, s: SignalSettings, opts: { clock?: Clock } = {}): Promise<ThresholdBreach> {
  const now = (opts.clock ?? systemClock).now();
  const day = dayIn(s.timezone, now);
  const from = startOfDayIn(s.timezone, day);
  const to = startOfDayIn(s.timezone, addDays(day, 1));
  const rows = await sql<{ kind: string; n: bigint }>`
    select e.kind, count(*) as n from exceptions e
    where ${unmatchedKinds()} and e.status <> 'auto_resolved' and e.opened_at >= ${from} and e.opened_at < ${to}
    group by e.kind`.execute(db);
  const counts = new Map(rows.rows.map((r) => [r.kind, Number(r.n)]));
  const byKind = UNMATCHED_KINDS.flatMap((kind) => {
    const count = counts.get(kind) ?? 0;
    return count > 0 ? [{ kind, label: KIND_LABELS[kind], count }] : [];
  });
  const count = byKind.reduce((a, k) => a + k.count, 0);
  return { day, timezone: s.timezone, from, to, count, limit: s.newUnmatchedPerDay, breached: count > s.newUnmatchedPerDay, byKind };
}

// ---------------------------------------------------------------------------------------------
// High-value items and stragglers
// ---------------------------------------------------------------------------------------------

export const STRAGGLER_HOURS = 24;

export interface HighValueItem {
  id: bigint;
  kind: ExceptionKind;
  kindLabel: string;
  status: ExceptionStatus;
  severity: Severity;
  /** Minor units, signed as stored. */
  amount: bigint;
  currency: string;
  /** |amount| in the reporting currency, when the rate is known. */
  worth: Money | null;
  customerId: string | null;
  customerName: string | null;
  stripeId: string | null;
  reference: string | null;
  summary: string;
  assignee: string | null;
  openedAt: Date;
  /** Opened more than 24 h ago. */
  straggler: boolean;
}

export interface HighValueList {
  threshold: Money;
  /** How many high-value items there are (the list may be capped by `limit`). */
  total: number;
  /** Of those, opened more than 24 h ago. */
  stragglers: number;
  items: HighValueItem[];
  /** Currencies of open unmatched items that could not be compared with the threshold (no rate). */
  uncompared: string[];
}

export interface HighValueOptions {
  clock?: Clock;
  /** Only items opened more than this many hours ago (24 for stragglers). Default 0: all. */
  olderThanHours?: number;
  /** Cap on `items` (the counts cover everything). Default: no cap. */
  limit?: number;
}

interface HighValueRow {
  id: bigint;
  kind: string;
  status: string;
  severity: string;
  amount: bigint;
  currency: string;
  worth_minor: string | null;
  customer_id: string | null;
  customer_name: string | null;
  stripe_id: string | null;
  reference: string | null;
  summary: string;
  assignee: string | null;
  opened_at: Date;
  total: bigint;
  stragglers: bigint;
}

/**
 * Open unmatched exceptions (the `open` list: a snooze still running is someone's "not now" and is
 * respected) with |amount| at or above `thresholds.high_value`, biggest first.
 *
 * Amounts are compared in the reporting currency when both the item's currency and the threshold's
 * have a rate (`org.fx_rates`; the reporting currency itself is 1). An item in a currency without a
 * rate is compared in its own currency only when that is the threshold's currency (exactly, in minor
 * units); otherwise it cannot be called high-value and its currency is listed in `uncompared`.
 */
export async function highValueExceptions(db: Kysely<Database>, s: SignalSettings, opts: HighValueOptions = {}): Promise<HighValueList> {
  const now = (opts.clock ?? systemClock).now();
  const cutoff = new Date(now.getTime() - (opts.olderThanHours ?? 0) * 3_600_000);
  const stragglerCutoff = new Date(now.getTime() - STRAGGLER_HOURS * 3_600_000);
  const t = s.highValue;
  const rateOf = (c: string): string | null => (c === s.reportingCurrency ? '1' : (s.fxRates[c] ?? null));
  const open = openCondition(now);

  const currencies = (await sql<{ currency: string }>`select distinct e.currency from exceptions e where ${unmatchedKinds()} and ${open}`.execute(db)).rows.map(
    (r) => r.currency,
  );
  const uncompared = currencies.filter((c) => c !== t.currency && (rateOf(c) === null || rateOf(t.currency) === null)).sort();
  const empty: HighValueList = { threshold: t, total: 0, stragglers: 0, items: [], uncompared };
  if (currencies.length === 0) return empty;

  const rep = s.reportingCurrency;
  const table = sql`(values ${sql.join(currencies.map((c) => sql`(${c}::text, ${currencyExponent(c)}::int, ${rateOf(c)}::numeric)`))}) as r(currency, exp, rate)`;
  // the threshold in reporting minor units (null: no rate for its currency, compare same-currency only)
  const tRate = rateOf(t.currency);
  const tWorth = tRate === null ? null : convertMinor(t.amount, t.currency, rep, tRate);
  const limit = opts.limit === undefined ? sql`` : sql`limit ${Math.max(0, Math.floor(opts.limit))}`;
  const rows = await sql<HighValueRow>`
    with v as (
      select e.id, e.kind, e.status, e.severity, e.amount, e.currency, e.customer_id, e.customer_name, e.stripe_id, e.reference,
        e.summary, e.assignee, e.opened_at,
        -- |amount| in reporting minor units, exact numeric (rounded only for display)
        abs(e.amount)::numeric * r.rate * power(10::numeric, ${currencyExponent(rep)}::int - r.exp) as worth
      from exceptions e join ${table} on r.currency = e.currency
      where ${unmatchedKinds()} and ${open} and e.opened_at < ${cutoff}
    ), hv as (
      select v.* from v
      where (v.currency = ${t.currency} and abs(v.amount) >= ${t.amount}::bigint)
         or (v.currency <> ${t.currency} and v.worth >= ${tWorth === null ? null : tWorth.toString()}::numeric)
    )
    select hv.id, hv.kind, hv.status, hv.severity, hv.amount, hv.currency, round(hv.worth)::text as worth_minor, hv.customer_id,
      hv.customer_name, hv.stripe_id, hv.reference, hv.summary, hv.assignee, hv.opened_at,
      count(*) over () as total, count(*) filter (where hv.opened_at < ${stragglerCutoff}) over () as stragglers
    from hv
    order by hv.worth desc nulls last, abs(hv.amount) desc, hv.id
    ${limit}`.execute(db);

  const first = rows.rows[0];
  if (!first) {
    // the window counts come with the rows; with a limit of 0 (or none found) ask once more
    if (opts.limit !== 0) return empty;
    const c = await highValueExceptions(db, s, { ...opts, limit: 1 });
    return { ...c, items: [] };
  }
  return {
    threshold: t,
    total: Number(first.total),
    stragglers: Number(first.stragglers),
    uncompared,
    items: rows.rows.map((r) => ({
      id: r.id,
      kind: r.kind as ExceptionKind,
      kindLabel: KIND_LABELS[r.kind as ExceptionKind] ?? r.kind,
      status: r.status as ExceptionStatus,
      severity: r.severity as Severity,
      amount: r.amount,
      currency: r.currency,
      worth: r.worth_minor === null ? null : { amount: BigInt(r.worth_minor), currency: rep },
      customerId: r.customer_id,
      customerName: r.customer_name,
      stripeId: r.stripe_id,
      reference: r.reference,
      summary: r.summary,
      assignee: r.assignee,
      openedAt: r.opened_at,
      straggler: r.opened_at.getTime() < stragglerCutoff.getTime(),
    })),
  };
}

/** High-value items open more than 24 hours: the ones that get a DM. */
export function highValueStragglers(db: Kysely<Database>, s: SignalSettings, opts: Omit<HighValueOptions, 'olderThanHours'> = {}): Promise<HighValueList> {
  return highValueExceptions(db, s, { ...opts, olderThanHours: STRAGGLER_HOURS });
}

// ---------------------------------------------------------------------------------------------
// Drift
// ---------------------------------------------------------------------------------------------

export interface DriftPoint {
  /** Monday of the ISO week, `YYYY-MM-DD` in the org time zone. */
  weekStart: string;
  /** The instant the week ended (the next Monday 00:00 in the org time zone). */
  weekEnd: Date;
  /** Unmatched balance (sum of |amount|, minor units) at that instant. */
  balance: bigint;
}

export interface DriftSeries {
  currency: string;
  /** True for the reporting-currency series (every currency with a rate, converted). */
  converted: boolean;
  /** Oldest first. */
  points: DriftPoint[];
  /** Each week's balance higher than the week before, for every week shown. */
  rising: boolean;
}

export interface Drift {
  weeks: number;
  timezone: string;
  series: DriftSeries[];
  drifting: boolean;
}

/**
 * The unmatched balance at the end of each of the last `drift_weeks + 1` completed ISO weeks (weeks
 * end Monday 00:00 in the org time zone; the week in progress is not judged until it ends), and
 * whether it rose `drift_weeks` weeks in a row. An exception counts at a week's end if it was opened
 * before it and not resolved by then; a reopened one counts from when it was first opened.
 *
 * Currencies with a rate are converted into the reporting currency (per-currency totals, rounded half
 * to even) and judged as one series; each currency without a rate is its own series, since adding it
 * to the others would mean guessing a rate.
 */
export async function unmatchedDrift(db: Kysely<Database>, s: SignalSettings, opts: { clock?: Clock } = {}): Promise<Drift> {
  const now = (opts.clock ?? systemClock).now();
  const today = dayIn(s.timezone, now);
  const dow = (new Date(`${today}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  const thisMonday = addDays(today, -dow);
  const n = s.driftWeeks;
  // oldest first: point i is the week starting (thisMonday - 7·(n + 1 - i)), ending 7 days later
  const weeks = Array.from({ length: n + 1 }, (_, i) => {
    const weekStart = addDays(thisMonday, -7 * (n + 1 - i));
    return { weekStart, weekEnd: startOfDayIn(s.timezone, addDays(weekStart, 7)) };
  });
  const points = sql`(values ${sql.join(weeks.map((w, i) => sql`(${i}::int, ${w.weekEnd}::timestamptz)`))}) as p(i, t)`;
  const rows = await sql<{ i: number; currency: string; total: string }>`
    select p.i, e.currency, sum(abs(e.amount))::text as total
    from ${points}
    join exceptions e on e.opened_at < p.t and (e.status not in ('resolved', 'auto_resolved') or e.resolved_at >= p.t)
    where ${unmatchedKinds()}
    group by p.i, e.currency`.execute(db);

  const rep = s.reportingCurrency;
  const balances = new Map<string, bigint[]>([[rep, weeks.map(() => 0n)]]);
  for (const r of rows.rows) {
    const rate = r.currency === rep ? '1' : s.fxRates[r.currency];
    const key = rate === undefined ? r.currency : rep;
    const amount = rate === undefined || r.currency === rep ? BigInt(r.total) : convertMinor(BigInt(r.total), r.currency, rep, rate);
    const list = balances.get(key) ?? weeks.map(() => 0n);
    list[Number(r.i)] = (list[Number(r.i)] ?? 0n) + amount;
    balances.set(key, list);
  }
  const series = [...balances.entries()]
    .sort(([a], [b]) => (a === rep ? -1 : b === rep ? 1 : a.localeCompare(b)))
    .map(([currency, list]) => ({
      currency,
      converted: currency === rep,
      points: weeks.map((w, i) => ({ ...w, balance: list[i] ?? 0n })),
      rising: list.every((b, i) => i === 0 || b > (list[i - 1] ?? 0n)),
    }));
  return { weeks: n, timezone: s.timezone, series, drifting: series.some((x) => x.rising) };
}

// ---------------------------------------------------------------------------------------------
// Flow between two instants (for "since the last digest")
// ---------------------------------------------------------------------------------------------

export interface FlowTotals {
  count: number;
  /** Per currency, sum of |amount|, sorted by currency. */
  amounts: Money[];
}

export interface ExceptionFlow {
  from: Date;
  to: Date;
  /** Opened in (from, to], whatever happened to them since. */
  opened: FlowTotals;
  /** Resolved (by a person or by the reconciliation) in (from, to] and still resolved. */
  resolved: FlowTotals;
}

/** What came into and went out of the queue between two instants. All kinds. */
export async function exceptionFlow(db: Kysely<Database>, range: { from: Date; to: Date }): Promise<ExceptionFlow> {
  const rows = await sql<{ side: string; currency: string; n: bigint; total: string }>`
    select 'opened' as side, e.currency, count(*) as n, sum(abs(e.amount))::text as total from exceptions e
    where e.opened_at > ${range.from} and e.opened_at <= ${range.to} group by e.currency
    union all
    select 'resolved', e.currency, count(*), sum(abs(e.amount))::text from exceptions e
    where e.status in ('resolved', 'auto_resolved') and e.resolved_at > ${range.from} and e.resolved_at <= ${range.to} group by e.currency
    order by 1, 2`.execute(db);
  const totals = (side: string): FlowTotals => {
    const mine = rows.rows.filter((r) => r.side === side);
    return { count: mine.reduce((a, r) => a + Number(r.n), 0), amounts: mine.map((r) => ({ amount: BigInt(r.total), currency: r.currency })) };
  };
  return { from: range.from, to: range.to, opened: totals('opened'), resolved: totals('resolved') };
}
