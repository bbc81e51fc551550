import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { BillopsFile } from '../config/index.js';
import type { Database } from '../db/index.js';
import { type ExceptionView, listExceptions } from '../exceptions/index.js';
import type { Money } from '../money/index.js';
import { type Clock, UserError, systemClock } from '../util/index.js';
import { MRR_STATUSES, isBillingInterval, monthlyAmount, sumByCurrency } from './mrr.js';

/**
 * Everything the account card shows about one Stripe customer, as plain data: who they are, what
 * they pay for and what that is worth a month, what they owe or are owed, what failed and what is
 * disputed, what billops flagged, and what happened lately. Read from the normalized Stripe tables
 * and the exception queue; nothing here calls Stripe or changes a row.
 */

const DAY_MS = 86_400_000;

/** Lists on the card are cut to this many; the totals say how many there are. */
export const CARD_LIST_LIMIT = 10;
export const TIMELINE_LENGTH = 10;

/** Dispute statuses that still need something from someone (Stripe's open states). */
export const OPEN_DISPUTE_STATUSES: readonly string[] = ['warning_needs_response', 'warning_under_review', 'needs_response', 'under_review'];
const NEEDS_RESPONSE: readonly string[] = ['warning_needs_response', 'needs_response'];

export interface AccountCustomer {
  id: string;
  name: string | null;
  email: string | null;
  description: string | null;
  currency: string | null;
  /** Stripe's flag: the customer's latest invoice or charge failed. */
  delinquent: boolean;
  created: Date;
  deleted: boolean;
  livemode: boolean;
}

/**
 * The customer's balance in Stripe, as finance reads it. Stripe stores a credit the customer holds
 * as a negative balance (it lowers their next invoice) and an amount they owe as a positive one (it
 * is added to their next invoice).
 */
export interface AccountBalance {
  /** Stripe's signed `balance`. */
  stripeBalance: Money;
  /** Credit the customer has with us, as a positive amount; null when there is none. */
  credit: Money | null;
  /** What the customer owes on their balance (not on invoices), as a positive amount; null when nothing. */
  owed: Money | null;
}

/** Why a subscription adds nothing to MRR. */
export type MrrExclusion = 'trialing' | 'not_active' | 'usage_based' | 'no_unit_price';

export interface AccountSubscription {
  id: string;
  status: string;
  /** What it is for: the price nickname, else the product's name or id, else the price id. */
  plan: string;
  /** Items beyond the first. */
  extraItems: number;
  interval: string | null;
  intervalCount: number | null;
  quantity: bigint | null;
  /** Unit price of the first item. */
  unitPrice: Money | null;
  /** Its monthly recurring revenue; null when it adds nothing (see `mrrExcluded`). */
  mrr: Money | null;
  mrrExcluded: MrrExclusion | null;
  /** MRR is from list prices: discounts on it are not taken off. */
  hasDiscount: boolean;
  currentPeriodStart: Date | null;
  currentPeriodEnd: Date | null;
  trialEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: Date | null;
  canceledAt: Date | null;
  endedAt: Date | null;
  /** Collection paused (`pause_collection`): what happens to invoices meanwhile, and until when. */
  collectionPaused: { behavior: string; resumesAt: Date | null } | null;
}

/** Where an unpaid invoice stands. */
export type InvoicePaymentStatus =
  | 'overdue' // sent for payment, past its due date
  | 'awaiting_payment' // sent for payment, not yet due
  | 'retrying' // charged automatically, failed, another attempt is scheduled
  | 'retries_exhausted' // charged automatically, failed, no attempt scheduled
  | 'scheduled' // charged automatically, not attempted yet
  | 'uncollectible'; // marked uncollectible; can still be paid

export interface OpenInvoice {
  id: string;
  number: string | null;
  status: string;
  paymentStatus: InvoicePaymentStatus;
  collectionMethod: string | null;
  amountDue: Money;
  amountRemaining: Money;
  finalizedAt: Date | null;
  dueDate: Date | null;
  /** Whole days since the due date; 0 when not yet due; null without a due date. */
  daysOverdue: number | null;
  attemptCount: number;
  nextPaymentAttempt: Date | null;
  /** The latest failed charge for it. */
  lastDecline: { chargeId: string; code: string | null; message: string | null; at: Date } | null;
  hostedInvoiceUrl: string | null;
}

export interface FailedPayment {
  chargeId: string;
  amount: Money;
  at: Date;
  failureCode: string | null;
  failureMessage: string | null;
  /** `visa •••• 4242`, when known. */
  paymentMethod: string | null;
  invoiceId: string | null;
  invoiceNumber: string | null;
}

export interface AccountDispute {
  id: string;
  chargeId: string;
  amount: Money;
  status: string;
  reason: string | null;
  created: Date;
  evidenceDueBy: Date | null;
  open: boolean;
  /** Evidence has to be submitted (needs_response / warning_needs_response). */
  needsResponse: boolean;
  /** Whole days left to submit evidence (negative once the deadline passed); null when not needed. */
  daysToRespond: number | null;
}

export type TimelineKind = 'invoice' | 'payment' | 'refund' | 'dispute' | 'credit_note';

export interface TimelineEvent {
  at: Date;
  kind: TimelineKind;
  /** What happened: `finalized`, `paid`, `voided`, `uncollectible`, `succeeded`, `failed`, `opened`, `issued`, … */
  event: string;
  objectId: string;
  /** An invoice or credit-note number, when it has one. */
  reference: string | null;
  amount: Money;
  /** A decline message, a refund or dispute reason, a dispute's status. */
  detail: string | null;
}

export interface AccountCard {
  asOf: Date;
  customer: AccountCustomer;
  balance: AccountBalance;
  subscriptions: { items: AccountSubscription[]; total: number };
  /** Monthly recurring revenue per currency (active and past-due subscriptions; trials excluded). */
  mrr: Money[];
  openInvoices: { items: OpenInvoice[]; total: number; outstanding: Money[] };
  failedPayments: { items: FailedPayment[]; total: number };
  disputes: { items: AccountDispute[]; total: number; open: number };
  /** The customer's exceptions that still need a person (open, assigned, snoozed, reopened). */
  exceptions: { items: ExceptionView[]; total: number };
  /** The latest events, newest first. */
  timeline: TimelineEvent[];
}

export interface AccountCardOptions {
  clock?: Clock;
  /** For ordering exceptions by worth across currencies (`org.reporting_currency`, `org.fx_rates`). */
  config?: { file: Pick<BillopsFile, 'org'> };
  /** Cut lists at this many (default 10). */
  limit?: number;
}

/** The account does not exist in billops' copy of Stripe. */
export class AccountNotFoundError extends UserError {
  override readonly name: string = 'AccountNotFoundError';
  constructor(readonly customerId: string) {
    super(`No Stripe customer ${customerId} is known to billops. It may not have been synced yet.`);
  }
}

// --- rows ---------------------------------------------------------------------------------------

interface CustomerRow {
  id: string;
  name: string | null;
  email: string | null;
  description: string | null;
  currency: string | null;
  balance: bigint;
  delinquent: boolean | null;
  created: Date;
  deleted_at: Date | null;
  livemode: boolean;
}

interface SubscriptionRow {
  id: string;
  status: string;
  currency: string;
  items: unknown;
  raw_items: unknown;
  current_period_start: Date | null;
  current_period_end: Date | null;
  trial_end: Date | null;
  cancel_at_period_end: boolean;
  cancel_at: Date | null;
  canceled_at: Date | null;
  ended_at: Date | null;
  pause_behavior: string | null;
  pause_resumes_at: Date | null;
  discounts: unknown;
  total: bigint;
}

interface InvoiceRow {
  id: string;
  number: string | null;
  status: string;
  currency: string;
  amount_due: bigint;
  amount_remaining: bigint;
  collection_method: string | null;
  finalized_at: Date | null;
  due_date: Date | null;
  attempt_count: number;
  next_payment_attempt: Date | null;
  hosted_invoice_url: string | null;
  decline_charge_id: string | null;
  decline_code: string | null;
  decline_message: string | null;
  decline_at: Date | null;
}

interface FailedRow {
  id: string;
  amount: bigint;
  currency: string;
  created: Date;
  failure_code: string | null;
  failure_message: string | null;
  payment_method_type: string | null;
  card_brand: string | null;
  card_last4: string | null;
  invoice_id: string | null;
  invoice_number: string | null;
}

interface DisputeRow {
  id: string;
  charge_id: string;
  amount: bigint;
  currency: string;
  status: string;
  reason: string | null;
  created: Date;
  evidence_due_by: Date | null;
}

interface TimelineRow {
  at: Date;
  kind: TimelineKind;
  event: string;
  object_id: string;
  reference: string | null;
  amount: bigint;
  currency: string;
  detail: string | null;
}

// The bits of a stored subscription item the normalized columns do not keep (names, usage type).
const storedItems = z.array(
  z.looseObject({
    price_id: z.string().nullable().optional(),
    product_id: z.string().nullable().optional(),
    unit_amount: z.number().int().nullable().optional(),
    currency: z.string(),
    interval: z.string().nullable().optional(),
    interval_count: z.number().int().nullable().optional(),
    quantity: z.number().int().nullable().optional(),
  }),
);
const rawItems = z.array(
  z.looseObject({
    price: z
      .looseObject({
        nickname: z.string().nullable().optional(),
        product: z.union([z.string(), z.looseObject({ name: z.string().nullable().optional() })]).nullable().optional(),
        recurring: z.looseObject({ usage_type: z.string().nullable().optional() }).nullable().optional(),
      })
      .nullable()
      .optional(),
  }),
);

function json(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}

function money(amount: bigint, currency: string): Money {
  return { amount, currency };
}

function wholeDays(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / DAY_MS);
}

// --- pieces -------------------------------------------------------------------------------------

function balanceOf(c: CustomerRow, fallbackCurrency: string): AccountBalance {
  const currency = c.currency ?? fallbackCurrency;
  const b = c.balance;
  return {
    stripeBalance: money(b, currency),
    credit: b < 0n ? money(-b, currency) : null,
    owed: b > 0n ? money(b, currency) : null,
  };
}

function subscriptionOf(r: SubscriptionRow): AccountSubscription {
  const items = storedItems.safeParse(json(r.items));
  const raws = rawItems.safeParse(json(r.raw_items));
  const list = items.success ? items.data : [];
  const rawList = raws.success ? raws.data : [];
  const first = list[0];
  const firstRaw = rawList[0]?.price;
  const product = firstRaw?.product;
  const productName = product && typeof product === 'object' ? (product.name ?? null) : null;
  const plan = firstRaw?.nickname ?? productName ?? first?.product_id ?? first?.price_id ?? 'unknown plan';

  let mrrExcluded: MrrExclusion | null = null;
  let mrr: Money | null = null;
  if (r.status === 'trialing') mrrExcluded = 'trialing';
  else if (!MRR_STATUSES.includes(r.status)) mrrExcluded = 'not_active';
  else {
    let sum = 0n;
    for (const [i, item] of list.entries()) {
      if (rawList[i]?.price?.recurring?.usage_type === 'metered') {
        mrrExcluded = 'usage_based';
        continue;
      }
      if (item.unit_amount === null || item.unit_amount === undefined || !isBillingInterval(item.interval)) {
        mrrExcluded = 'no_unit_price';
        continue;
      }
      sum += monthlyAmount(BigInt(item.unit_amount), BigInt(item.quantity ?? 1), item.interval, item.interval_count ?? 1);
    }
    // Part of it is known: show that part; the exclusion says why it is not all of it.
    if (list.length > 0 && (mrrExcluded === null || sum !== 0n)) mrr = money(sum, r.currency);
  }
  const discounts = json(r.discounts);
  return {
    id: r.id,
    status: r.status,
    plan,
    extraItems: Math.max(0, list.length - 1),
    interval: first?.interval ?? null,
    intervalCount: first?.interval_count ?? null,
    quantity: first?.quantity === null || first?.quantity === undefined ? null : BigInt(first.quantity),
    unitPrice: first?.unit_amount === null || first?.unit_amount === undefined ? null : money(BigInt(first.unit_amount), first.currency.toUpperCase()),
    mrr,
    mrrExcluded,
    hasDiscount: Array.isArray(discounts) && discounts.length > 0,
    currentPeriodStart: r.current_period_start,
    currentPeriodEnd: r.current_period_end,
    trialEnd: r.trial_end,
    cancelAtPeriodEnd: r.cancel_at_period_end,
    cancelAt: r.cancel_at,
    canceledAt: r.canceled_at,
    endedAt: r.ended_at,
    collectionPaused: r.pause_behavior ? { behavior: r.pause_behavior, resumesAt: r.pause_resumes_at } : null,
  };
}

function paymentStatusOf(r: InvoiceRow, now: Date): InvoicePaymentStatus {
  if (r.status === 'uncollectible') return 'uncollectible';
  if (r.collection_method === 'send_invoice' || r.due_date !== null) {
    return r.due_date !== null && r.due_date.getTime() < now.getTime() ? 'overdue' : 'awaiting_payment';
  }
  if (r.next_payment_attempt !== null) return r.attempt_count > 0 ? 'retrying' : 'scheduled';
  return r.attempt_count > 0 ? 'retries_exhausted' : 'scheduled';
}

function invoiceOf(r: InvoiceRow, now: Date): OpenInvoice {
  return {
    id: r.id,
    number: r.number,
    status: r.status,
    paymentStatus: paymentStatusOf(r, now),
    collectionMethod: r.collection_method,
    amountDue: money(r.amount_due, r.currency),
    amountRemaining: money(r.amount_remaining, r.currency),
    finalizedAt: r.finalized_at,
    dueDate: r.due_date,
    daysOverdue: r.due_date === null ? null : Math.max(0, wholeDays(r.due_date, now)),
    attemptCount: r.attempt_count,
    nextPaymentAttempt: r.next_payment_attempt,
    lastDecline:
      r.decline_charge_id && r.decline_at
        ? { chargeId: r.decline_charge_id, code: r.decline_code, message: r.decline_message, at: r.decline_at }
        : null,
    hostedInvoiceUrl: r.hosted_invoice_url,
  };
}

function paymentMethodOf(r: FailedRow): string | null {
  if (r.card_brand && r.card_last4) return `${r.card_brand} •••• ${r.card_last4}`;
  return r.payment_method_type;
}

function disputeOf(r: DisputeRow, now: Date): AccountDispute {
  const open = OPEN_DISPUTE_STATUSES.includes(r.status);
  const needsResponse = NEEDS_RESPONSE.includes(r.status);
  return {
    id: r.id,
    chargeId: r.charge_id,
    amount: money(r.amount, r.currency),
    status: r.status,
    reason: r.reason,
    created: r.created,
    evidenceDueBy: r.evidence_due_by,
    open,
    needsResponse,
    daysToRespond: needsResponse && r.evidence_due_by ? Math.floor((r.evidence_due_by.getTime() - now.getTime()) / DAY_MS) : null,
  };
}

// --- queries ------------------------------------------------------------------------------------

/** The invoice a charge paid (or tried to): on the charge itself before API 2025-03-31, else through its payment intent. */
const chargeInvoiceId = sql`coalesce(c.invoice_id,
  (select p.invoice_id from stripe_invoice_payments p where p.payment_intent_id = c.payment_intent_id order by p.created desc, p.id limit 1))`;

async function subscriptions(db: Kysely<Database>, customerId: string, limit: number): Promise<SubscriptionRow[]> {
  // Live ones first (what they pay for now), then the ended ones, newest first.
  const r = await sql<SubscriptionRow>`
    select s.id, s.status, s.currency, s.items, s.raw->'items'->'data' as raw_items, s.current_period_start, s.current_period_end,
      s.trial_end, s.cancel_at_period_end, s.cancel_at, s.canceled_at, s.ended_at, s.pause_behavior, s.pause_resumes_at,
      s.discounts, count(*) over () as total
    from stripe_subscriptions s
    where s.customer_id = ${customerId}
    order by case s.status when 'active' then 0 when 'past_due' then 0 when 'trialing' then 1 when 'paused' then 2 when 'unpaid' then 2
      when 'incomplete' then 3 else 4 end, s.created desc, s.id
    limit ${limit}`.execute(db);
  return r.rows;
}

async function openInvoices(db: Kysely<Database>, customerId: string, limit: number): Promise<{ rows: InvoiceRow[]; totals: Array<{ currency: string; n: bigint; remaining: bigint }> }> {
  const [rows, totals] = await Promise.all([
    sql<InvoiceRow>`
      select i.id, i.number, i.status, i.currency, i.amount_due, i.amount_remaining, i.collection_method, i.finalized_at,
        i.due_date, i.attempt_count, i.next_payment_attempt, i.hosted_invoice_url,
        d.id as decline_charge_id, d.failure_code as decline_code, d.failure_message as decline_message, d.created as decline_at
      from stripe_invoices i
      left join lateral (
        select c.id, c.failure_code, c.failure_message, c.created from stripe_charges c
        where c.customer_id = i.customer_id and c.status = 'failed'
          and (c.invoice_id = i.id
               or c.payment_intent_id in (select p.payment_intent_id from stripe_invoice_payments p where p.invoice_id = i.id))
        order by c.created desc, c.id desc limit 1) d on true
      where i.customer_id = ${customerId} and i.status in ('open', 'uncollectible') and i.deleted_at is null
      order by coalesce(i.due_date, i.finalized_at, i.created), i.id
      limit ${limit}`.execute(db),
    sql<{ currency: string; n: bigint; remaining: bigint }>`
      select currency, count(*) as n, sum(amount_remaining)::bigint as remaining from stripe_invoices
      where customer_id = ${customerId} and status in ('open', 'uncollectible') and deleted_at is null
      group by currency order by currency`.execute(db),
  ]);
  return { rows: rows.rows, totals: totals.rows };
}

async function failedPayments(db: Kysely<Database>, customerId: string, limit: number): Promise<{ rows: FailedRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    sql<FailedRow>`
      select c.id, c.amount, c.currency, c.created, c.failure_code, c.failure_message, c.payment_method_type, c.card_brand, c.card_last4,
        i.id as invoice_id, i.number as invoice_number
      from stripe_charges c
      left join stripe_invoices i on i.id = ${chargeInvoiceId}
      where c.customer_id = ${customerId} and c.status = 'failed'
      order by c.created desc, c.id desc
      limit ${limit}`.execute(db),
    sql<{ n: bigint }>`select count(*) as n from stripe_charges where customer_id = ${customerId} and status = 'failed'`.execute(db),
  ]);
  return { rows: rows.rows, total: Number(count.rows[0]?.n ?? 0n) };
}

async function disputes(db: Kysely<Database>, customerId: string, limit: number): Promise<{ rows: DisputeRow[]; total: number; open: number }> {
  // Open ones first: they are the flags; then the closed ones, newest first.
  const r = await sql<DisputeRow & { total: bigint; open_count: bigint }>`
    select d.id, d.charge_id, d.amount, d.currency, d.status, d.reason, d.created, d.evidence_due_by,
      count(*) over () as total, count(*) filter (where d.status in (${sql.join(OPEN_DISPUTE_STATUSES)})) over () as open_count
    from stripe_charges c join stripe_disputes d on d.charge_id = c.id
    where c.customer_id = ${customerId}
    order by (d.status in (${sql.join(OPEN_DISPUTE_STATUSES)})) desc, d.created desc, d.id desc
    limit ${limit}`.execute(db);
  const first = r.rows[0];
  return { rows: r.rows, total: Number(first?.total ?? 0n), open: Number(first?.open_count ?? 0n) };
}

async function timeline(db: Kysely<Database>, customerId: string, length: number): Promise<TimelineRow[]> {
  // Each object contributes the moments it records (an invoice: finalized, paid, voided, marked
  // uncollectible); refunds, disputes and credit notes are found through the customer's charges
  // and invoices, which are indexed by customer.
  const r = await sql<TimelineRow>`
    with inv as (
      select id, number, currency, total, amount_paid, amount_remaining, finalized_at, paid_at, voided_at, marked_uncollectible_at
      from stripe_invoices where customer_id = ${customerId} and deleted_at is null
    ), ch as (
      select id, amount, currency, status, created, failure_message, description from stripe_charges where customer_id = ${customerId}
    )
    select at, kind, event, object_id, reference, amount, currency, detail from (
      select e.at, 'invoice' as kind, e.event, i.id as object_id, i.number as reference, e.amount, i.currency, null::text as detail
      from inv i cross join lateral (values
        ('finalized', i.finalized_at, i.total),
        ('paid', i.paid_at, i.amount_paid),
        ('voided', i.voided_at, i.total),
        ('uncollectible', i.marked_uncollectible_at, i.amount_remaining)) as e(event, at, amount)
      union all
      select c.created, 'payment', c.status, c.id, null, c.amount, c.currency, case when c.status = 'failed' then c.failure_message end
      from ch c
      union all
      select r.created, 'refund', coalesce(r.status, 'created'), r.id, null, r.amount, r.currency, r.reason
      from ch c join stripe_refunds r on r.charge_id = c.id
      union all
      select d.created, 'dispute', 'opened', d.id, null, d.amount, d.currency, concat_ws(' · ', d.reason, d.status)
      from ch c join stripe_disputes d on d.charge_id = c.id
      union all
      select coalesce(n.effective_at, n.created), 'credit_note', 'issued', n.id, n.number, coalesce(n.total, n.amount), n.currency, n.reason
      from inv i join stripe_credit_notes n on n.invoice_id = i.id
      union all
      select n.voided_at, 'credit_note', 'voided', n.id, n.number, coalesce(n.total, n.amount), n.currency, n.reason
      from inv i join stripe_credit_notes n on n.invoice_id = i.id
    ) t
    where at is not null
    order by at desc, object_id desc, event desc
    limit ${length}`.execute(db);
  return r.rows;
}

/**
 * The account card for one Stripe customer. Throws AccountNotFoundError when billops has no such
 * customer.
 */
export async function accountCard(db: Kysely<Database>, customerId: string, opts: AccountCardOptions = {}): Promise<AccountCard> {
  const now = (opts.clock ?? systemClock).now();
  const limit = opts.limit ?? CARD_LIST_LIMIT;
  const customer = (
    await sql<CustomerRow>`
      select id, name, email, description, currency, balance, delinquent, created, deleted_at, livemode
      from stripe_customers where id = ${customerId}`.execute(db)
  ).rows[0];
  if (!customer) throw new AccountNotFoundError(customerId);

  const org = opts.config?.file.org;
  const [subs, invoices, failed, disputed, exceptions, events] = await Promise.all([
    subscriptions(db, customerId, limit),
    openInvoices(db, customerId, limit),
    failedPayments(db, customerId, limit),
    disputes(db, customerId, limit),
    listExceptions(db, {
      status: 'active',
      customerId,
      pageSize: limit,
      clock: { now: () => now },
      ...(org ? { fx: { reportingCurrency: org.reporting_currency, rates: org.fx_rates } } : {}),
    }),
    timeline(db, customerId, TIMELINE_LENGTH),
  ]);

  const subscriptionItems = subs.map(subscriptionOf);
  const fallbackCurrency = subs[0]?.currency ?? invoices.totals[0]?.currency ?? 'USD';
  return {
    asOf: now,
    customer: {
      id: customer.id,
      name: customer.name,
      email: customer.email,
      description: customer.description,
      currency: customer.currency,
      delinquent: customer.delinquent === true,
      created: customer.created,
      deleted: customer.deleted_at !== null,
      livemode: customer.livemode,
    },
    balance: balanceOf(customer, fallbackCurrency),
    subscriptions: { items: subscriptionItems, total: Number(subs[0]?.total ?? 0n) },
    mrr: sumByCurrency(subscriptionItems.flatMap((s) => (s.mrr && s.mrr.amount !== 0n ? [s.mrr] : []))),
    openInvoices: {
      items: invoices.rows.map((r) => invoiceOf(r, now)),
      total: invoices.totals.reduce((n, t) => n + Number(t.n), 0),
      outstanding: invoices.totals.map((t) => money(t.remaining, t.currency)),
    },
    failedPayments: {
      items: failed.rows.map((r) => ({
        chargeId: r.id,
        amount: money(r.amount, r.currency),
        at: r.created,
        failureCode: r.failure_code,
        failureMessage: r.failure_message,
        paymentMethod: paymentMethodOf(r),
        invoiceId: r.invoice_id,
        invoiceNumber: r.invoice_number,
      })),
      total: failed.total,
    },
    disputes: { items: disputed.rows.map((r) => disputeOf(r, now)), total: disputed.total, open: disputed.open },
    exceptions: { items: exceptions.items, total: exceptions.total },
    timeline: events.map((e) => ({
      at: e.at,
      kind: e.kind,
      event: e.event,
      objectId: e.object_id,
      reference: e.reference,
      amount: money(e.amount, e.currency),
      detail: e.detail,
    })),
  };
}
