/**
 * The demo month of Stripe data (October 2026): ~46 customers in USD, EUR and JPY on monthly and
 * annual plans, with a trial, a prorated upgrade, paid / past-due / voided / uncollectible invoices,
 * charges and their balance transactions (card fees, EUR and JPY settled in USD with an exchange
 * rate), a refund, an open dispute, a credit note and three payouts.
 *
 * Everything is Stripe-shaped JSON (wire format: unix seconds, minor units, lower-case currencies,
 * ids for references) and deterministic: no clock, no randomness. The demo feeds it through the
 * same code real data takes — the snapshot and the balance transactions through the backfill's
 * normalization, the events through the webhook event store and queue worker — and later demo
 * steps (the GL import, matching) build on the same ids, so they are stable and readable:
 * invoice n is `in_demo000000000n`, numbered `DEMO-000n`, paid by charge `ch_demo000000000n`
 * (payment intent `pi_demo…n`), whose balance transaction is `txn_demo000000000n`.
 */
import Stripe from 'stripe';
import { convertMinor, minorToDecimal } from '../money/index.js';

export type StripeJson = Record<string, unknown>;

/** The demo month; the same as the demo's DEMO_MONTH (src/cli/demo/index.ts). */
export const DEMO_STRIPE_MONTH = { start: '2026-10-01', end: '2026-10-31' } as const;

export interface DemoStripeDataset {
  /** Customers and subscriptions as they stood when billops was connected, 1 Oct 00:00 UTC (a backfill). */
  snapshot: { at: Date; objects: StripeJson[] };
  /** October's webhook events, oldest first. */
  events: StripeJson[];
  /** The month-end backfill of balance transactions (Stripe sends no events for them). */
  balanceTransactions: { at: Date; objects: StripeJson[] };
  /** Which balance transactions each automatic payout paid out (incl. the payout's own). */
  payoutMembers: Record<string, string[]>;
  customers: DemoCustomer[];
}

export type DemoPlanKey = 'starter' | 'pro' | 'pro_annual' | 'business' | 'pro_eur' | 'pro_jpy';

interface Plan {
  price: string;
  product: string;
  nickname: string;
  amount: number;
  currency: 'usd' | 'eur' | 'jpy';
  interval: 'month' | 'year';
}

export const DEMO_PLANS: Readonly<Record<DemoPlanKey, Plan>> = {
  starter: { price: 'price_demoStarterMonthly', product: 'prod_demoStarter', nickname: 'Starter', amount: 4900, currency: 'usd', interval: 'month' },
  pro: { price: 'price_demoProMonthly', product: 'prod_demoPro', nickname: 'Pro', amount: 19900, currency: 'usd', interval: 'month' },
  pro_annual: { price: 'price_demoProAnnual', product: 'prod_demoPro', nickname: 'Pro (annual)', amount: 199000, currency: 'usd', interval: 'year' },
  business: { price: 'price_demoBusinessMonthly', product: 'prod_demoBusiness', nickname: 'Business', amount: 49900, currency: 'usd', interval: 'month' },
  pro_eur: { price: 'price_demoProMonthlyEur', product: 'prod_demoPro', nickname: 'Pro (EUR)', amount: 17900, currency: 'eur', interval: 'month' },
  pro_jpy: { price: 'price_demoProMonthlyJpy', product: 'prod_demoPro', nickname: 'Pro (JPY)', amount: 25000, currency: 'jpy', interval: 'month' },
};

/** What happens to a customer in October. */
export type DemoStory =
  | 'renews' // a monthly (or annual) renewal, paid at once
  | 'quiet' // annual plan renewing another month: no October invoice
  | 'retry_then_paid' // first attempt declined, paid on the retry
  | 'past_due' // three declined attempts, still open at month end
  | 'uncollectible' // four declined attempts, written off, subscription canceled
  | 'upgrade' // Starter → Pro on 16 Oct, prorated
  | 'refund' // partial refund after paying
  | 'dispute' // the payment is disputed (open at month end)
  | 'credit_note' // a credit note to the customer's balance
  | 'void' // a one-off invoice issued by mistake and voided
  | 'overdue' // send_invoice, net 15, unpaid past its due date
  | 'signup' // new customer in October
  | 'trial'; // new customer on a 14-day trial

export interface DemoCustomer {
  n: number;
  id: string;
  name: string;
  email: string;
  currency: 'usd' | 'eur' | 'jpy';
  plan: DemoPlanKey;
  story: DemoStory;
  /** Day of October the billing period renews (or the customer signs up). */
  day: number;
  /** USD per unit of the customer's currency, for its charges settled in USD. */
  fxRate?: string;
}

const NAMES = [
  'Acme Analytics', 'Birchwood Labs', 'Cobalt Robotics', 'Driftwood Media', 'Ember Health', 'Foxglove Studio',
  'Granite Logistics', 'Harbor Legal', 'Indigo Apparel', 'Juniper Schools', 'Kestrel Security', 'Lumen Dental',
  'Maple Finance', 'Northwind Traders', 'Orchard Foods', 'Pinnacle Realty', 'Quartz Data', 'Redwood Clinics',
  'Summit Outdoor', 'Tidewater Marine', 'Umber Coffee', 'Vantage Freight', 'Willow Pets', 'Xenon Energy',
  'Yardley Books', 'Zephyr Travel', 'Atlas Fitness', 'Beacon Insurance', 'Cedar Architects', 'Delta Payroll',
  'Evergreen Capital', 'Falcon Aerospace', 'Glacier Water', 'Horizon Telecom', 'Ironclad Manufacturing',
  'Jetstream Supply', 'Keystone HR', 'Lighthouse Nonprofit', 'Meridian Yoga', 'Nimbus Cloud',
  'Berliner Brotwerk GmbH', 'Lyon Logistique SAS', 'Amsterdam Apps B.V.', 'Milano Moda S.r.l.',
  'Tokyo Kogyo K.K.', 'Osaka Denki K.K.',
];

/** Customer n's October: plan, story, day. Everyone not listed renews on their plan's usual day. */
const STORIES: Readonly<Record<number, { story: DemoStory; day?: number; plan?: DemoPlanKey }>> = {
  3: { story: 'credit_note', day: 3 },
  5: { story: 'upgrade', day: 1 },
  9: { story: 'refund', day: 4 },
  12: { story: 'void', day: 8 },
  18: { story: 'dispute', day: 6 },
  22: { story: 'past_due', day: 20 },
  25: { story: 'retry_then_paid', day: 11 },
  27: { story: 'uncollectible', day: 2 },
  31: { story: 'renews', day: 7 },
  32: { story: 'renews', day: 21 },
  33: { story: 'quiet', day: 12 },
  34: { story: 'quiet', day: 3 },
  35: { story: 'overdue', day: 3 },
  37: { story: 'signup', day: 13, plan: 'pro' },
  38: { story: 'signup', day: 27, plan: 'pro' },
  39: { story: 'trial', day: 20, plan: 'starter' },
  40: { story: 'signup', day: 5, plan: 'business' },
  44: { story: 'signup', day: 14 },
  46: { story: 'signup', day: 9 },
};

const FX: Readonly<Record<number, string>> = { 41: '1.0856', 42: '1.0831', 43: '1.0879', 44: '1.0902', 45: '0.006571', 46: '0.006588' };

function planOf(n: number): DemoPlanKey {
  if (n >= 45) return 'pro_jpy';
  if (n >= 41) return 'pro_eur';
  if (n <= 14) return 'starter';
  if (n <= 30) return 'pro';
  if (n <= 34) return 'pro_annual';
  return 'business';
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/\b(gmbh|sas|b\.v\.|s\.r\.l\.|k\.k\.)/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

const seq = (n: number) => String(n).padStart(10, '0');
/** `<prefix>_demo<10 digits>`: Stripe's id alphabet, readable, sorting in number order. */
export function demoId(prefix: string, n: number): string {
  return `${prefix}_demo${seq(n)}`;
}

export function demoCustomers(): DemoCustomer[] {
  return NAMES.map((name, i) => {
    const n = i + 1;
    const s = STORIES[n];
    const plan = s?.plan ?? planOf(n);
    const c: DemoCustomer = {
      n,
      id: demoId('cus', n),
      name,
      email: `billing@${slug(name)}.example`,
      currency: DEMO_PLANS[plan].currency,
      plan,
      story: s?.story ?? 'renews',
      day: s?.day ?? ((n * 5) % 27) + 1,
    };
    const fx = FX[n];
    if (fx) c.fxRate = fx;
    return c;
  });
}

// --- time ------------------------------------------------------------------------------------

const DAY = 86_400;
/** Unix seconds for a moment in October 2026 (UTC). */
function oct(day: number, h = 0, m = 0, s = 0): number {
  return Date.UTC(2026, 9, day, h, m, s) / 1000;
}
function addMonths(unix: number, months: number): number {
  const d = new Date(unix * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}
function midnightAfter(unix: number, days: number): number {
  const d = new Date(unix * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + days) / 1000;
}

// --- money -----------------------------------------------------------------------------------

/** Stripe's card pricing on the settled amount: 2.9% + 30¢, plus 1% when the card's currency was converted. Half up. */
function cardFee(settledUsdCents: bigint, converted: boolean): bigint {
  const perMille = converted ? 39n : 29n;
  return (settledUsdCents * perMille + 500n) / 1000n + 30n;
}

// --- object builders (wire JSON, as Stripe sends it) ------------------------------------------

const address = { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };

function customerObject(c: DemoCustomer, created: number, balance = 0): StripeJson {
  return {
    id: c.id,
    object: 'customer',
    address,
    balance,
    created,
    currency: c.currency,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: c.email,
    invoice_prefix: `DEMO${String(c.n).padStart(2, '0')}`,
    invoice_settings: { custom_fields: null, default_payment_method: demoId('pm', c.n), footer: null, rendering_options: null },
    livemode: false,
    metadata: { account_owner: c.n % 3 === 0 ? 'U0DEMOOWN1' : 'U0DEMOOWN2' },
    name: c.name,
    next_invoice_sequence: 2,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

function priceObject(plan: Plan): StripeJson {
  return {
    id: plan.price,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: Date.UTC(2025, 0, 15) / 1000,
    currency: plan.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: plan.nickname,
    product: plan.product,
    recurring: { interval: plan.interval, interval_count: 1, meter: null, usage_type: 'licensed', trial_period_days: null },
    tax_behavior: 'exclusive',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: plan.amount,
    unit_amount_decimal: String(plan.amount),
  };
}

interface SubState {
  status: string;
  start: number;
  end: number;
  plan: Plan;
  created: number;
  trialStart?: number | null;
  trialEnd?: number | null;
  canceledAt?: number | null;
  latestInvoice?: string | null;
  collection?: 'charge_automatically' | 'send_invoice';
}

function subscriptionObject(c: DemoCustomer, s: SubState): StripeJson {
  const id = demoId('sub', c.n);
  return {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null, disabled_reason: null },
    billing_cycle_anchor: s.created,
    billing_cycle_anchor_config: null,
    billing_mode: { type: 'classic', flexible: null },
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: s.canceledAt ?? null,
    cancellation_details: { comment: null, feedback: null, reason: s.canceledAt ? 'payment_failed' : null },
    collection_method: s.collection ?? 'charge_automatically',
    created: s.created,
    currency: s.plan.currency,
    customer: c.id,
    days_until_due: s.collection === 'send_invoice' ? 15 : null,
    default_payment_method: demoId('pm', c.n),
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: s.canceledAt ?? null,
    invoice_settings: { account_tax_ids: null, issuer: { type: 'self' } },
    items: {
      object: 'list',
      data: [
        {
          id: demoId('si', c.n),
          object: 'subscription_item',
          billing_thresholds: null,
          created: s.created,
          current_period_end: s.end,
          current_period_start: s.start,
          discounts: [],
          metadata: {},
          price: priceObject(s.plan),
          quantity: 1,
          subscription: id,
          tax_rates: [],
        },
      ],
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    latest_invoice: s.latestInvoice ?? null,
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: s.created,
    status: s.status,
    test_clock: null,
    transfer_data: null,
    trial_end: s.trialEnd ?? null,
    trial_settings: { end_behavior: { missing_payment_method: 'create_invoice' } },
    trial_start: s.trialStart ?? null,
  };
}

interface LineSpec {
  id: string;
  amount: number;
  description: string;
  start: number;
  end: number;
  proration: boolean;
  price: Plan | null;
}

interface InvoiceSpec {
  n: number;
  c: DemoCustomer;
  created: number;
  currency: string;
  lines: LineSpec[];
  status: 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
  billingReason: string;
  subscription: string | null;
  collection: 'charge_automatically' | 'send_invoice';
  attempts: number;
  nextAttempt: number | null;
  finalizedAt: number;
  paidAt?: number | null;
  voidedAt?: number | null;
  uncollectibleAt?: number | null;
  dueDate?: number | null;
  prePaymentCredit?: number;
  postPaymentCredit?: number;
}

function invoiceObject(s: InvoiceSpec): StripeJson {
  const id = demoId('in', s.n);
  const total = s.lines.reduce((sum, l) => sum + l.amount, 0);
  const paid = s.status === 'paid' ? total : 0;
  const remaining = s.status === 'paid' || s.status === 'void' ? 0 : total;
  return {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Demo Co',
    account_tax_ids: null,
    amount_due: total,
    amount_overpaid: 0,
    amount_paid: paid,
    amount_remaining: remaining,
    amount_shipping: 0,
    application: null,
    attempt_count: s.attempts,
    attempted: s.attempts > 0,
    auto_advance: s.status === 'open',
    automatic_tax: { enabled: false, liability: null, status: null, disabled_reason: null, provider: null },
    automatically_finalizes_at: null,
    billing_reason: s.billingReason,
    collection_method: s.collection,
    created: s.created,
    currency: s.currency,
    custom_fields: null,
    customer: s.c.id,
    customer_account: null,
    customer_address: null,
    customer_email: s.c.email,
    customer_name: s.c.name,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: s.dueDate ?? null,
    effective_at: s.finalizedAt,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_demo/test_${id}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_demo/test_${id}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: 'list',
      data: s.lines.map((l) => ({
        id: l.id,
        object: 'line_item',
        amount: l.amount,
        currency: s.currency,
        description: l.description,
        discount_amounts: [],
        discountable: !l.proration,
        discounts: [],
        invoice: id,
        livemode: false,
        metadata: {},
        parent: s.subscription
          ? {
              type: 'subscription_item_details',
              invoice_item_details: null,
              subscription_item_details: {
                invoice_item: l.proration ? `ii_${l.id.slice(3)}` : null,
                proration: l.proration,
                proration_details: { credited_items: null },
                subscription: s.subscription,
                subscription_item: demoId('si', s.c.n),
              },
            }
          : {
              type: 'invoice_item_details',
              invoice_item_details: { invoice_item: `ii_${l.id.slice(3)}`, proration: false, proration_details: { credited_items: null }, subscription: null },
              subscription_item_details: null,
            },
        period: { start: l.start, end: l.end },
        pretax_credit_amounts: [],
        pricing: {
          type: 'price_details',
          price_details: l.price ? { price: l.price.price, product: l.price.product } : { price: 'price_demoOnboarding', product: 'prod_demoOnboarding' },
          unit_amount_decimal: String(Math.abs(l.amount)),
        },
        quantity: 1,
        quantity_decimal: '1',
        subscription: s.subscription,
        subtotal: l.amount,
        taxes: [],
      })),
      has_more: false,
      url: `/v1/invoices/${id}/lines`,
    },
    livemode: false,
    metadata: {},
    next_payment_attempt: s.nextAttempt,
    number: `DEMO-${String(s.n).padStart(4, '0')}`,
    on_behalf_of: null,
    parent: s.subscription
      ? { type: 'subscription_details', quote_details: null, subscription_details: { metadata: {}, subscription: s.subscription } }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: s.created,
    period_start: s.created,
    post_payment_credit_notes_amount: s.postPaymentCredit ?? 0,
    pre_payment_credit_notes_amount: s.prePaymentCredit ?? 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: s.status,
    status_transitions: {
      finalized_at: s.finalizedAt,
      marked_uncollectible_at: s.uncollectibleAt ?? null,
      paid_at: s.paidAt ?? null,
      voided_at: s.voidedAt ?? null,
    },
    subtotal: total,
    subtotal_excluding_tax: total,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: s.created,
  };
}

interface ChargeSpec {
  id: string;
  c: DemoCustomer;
  amount: number;
  currency: string;
  created: number;
  paymentIntent: string;
  description: string;
  failed?: boolean;
  balanceTransaction?: string | null;
  refunded?: number;
  disputed?: boolean;
}

function chargeObject(s: ChargeSpec): StripeJson {
  const failed = s.failed === true;
  const refunded = s.refunded ?? 0;
  return {
    id: s.id,
    object: 'charge',
    amount: s.amount,
    amount_captured: failed ? 0 : s.amount,
    amount_refunded: refunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: failed ? null : (s.balanceTransaction ?? null),
    billing_details: { address, email: s.c.email, name: s.c.name, phone: null, tax_id: null },
    calculated_statement_descriptor: 'DEMO CO',
    captured: !failed,
    created: s.created,
    currency: s.currency,
    customer: s.c.id,
    description: s.description,
    disputed: s.disputed === true,
    failure_balance_transaction: null,
    failure_code: failed ? 'card_declined' : null,
    failure_message: failed ? 'Your card was declined.' : null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: failed
      ? { network_status: 'declined_by_network', reason: 'insufficient_funds', risk_level: 'normal', seller_message: 'The bank returned the decline code `insufficient_funds`.', type: 'issuer_declined' }
      : { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: !failed,
    payment_intent: s.paymentIntent,
    payment_method: demoId('pm', s.c.n),
    payment_method_details: {
      type: 'card',
      card: { brand: s.c.n % 4 === 0 ? 'mastercard' : 'visa', country: s.c.currency === 'usd' ? 'US' : s.c.currency === 'eur' ? 'DE' : 'JP', exp_month: 8, exp_year: 2029, funding: 'credit', last4: String(4242 + s.c.n).slice(-4), network: 'visa' },
    },
    receipt_email: s.c.email,
    receipt_number: null,
    receipt_url: failed ? null : `https://pay.stripe.com/receipts/payment/test_${s.id}`,
    refunded: refunded >= s.amount,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${s.id}/refunds` },
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: failed ? 'failed' : 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

function balanceTransactionObject(spec: {
  id: string;
  amount: bigint;
  fee: bigint;
  created: number;
  availableOn: number;
  type: string;
  category: string;
  source: string;
  description: string | null;
  exchangeRate?: string | null;
}): StripeJson {
  return {
    id: spec.id,
    object: 'balance_transaction',
    amount: Number(spec.amount),
    available_on: spec.availableOn,
    balance_type: 'payments',
    created: spec.created,
    currency: 'usd',
    description: spec.description,
    // A JSON number, as Stripe sends it; billops keeps it as an exact decimal.
    exchange_rate: spec.exchangeRate ? Number(spec.exchangeRate) : null,
    fee: Number(spec.fee),
    fee_details:
      spec.fee === 0n
        ? []
        : [{ amount: Number(spec.fee), application: null, currency: 'usd', description: spec.type === 'adjustment' ? 'Dispute fee' : 'Stripe processing fees', type: 'stripe_fee' }],
    net: Number(spec.amount - spec.fee),
    reporting_category: spec.category,
    source: spec.source,
    status: 'available',
    type: spec.type,
  };
}

// --- the month --------------------------------------------------------------------------------

interface PendingEvent {
  type: string;
  created: number;
  object: StripeJson;
  previous?: StripeJson;
  order: number;
}

function unitLabel(plan: Plan): string {
  const price = plan.currency === 'jpy' ? `¥${plan.amount.toLocaleString('en-US')}` : `${plan.currency === 'eur' ? '€' : '$'}${(plan.amount / 100).toFixed(2)}`;
  return `1 × ${plan.nickname} (at ${price} / ${plan.interval})`;
}

/**
 * The demo dataset. Pure: the same output on every call, so invoice DEMO-0007 and its charge are
 * the same objects in every demo run and in the steps that build the GL side of the demo.
 */
export function demoStripeDataset(): DemoStripeDataset {
  const customers = demoCustomers();
  const byCustomer = (n: number) => customers[n - 1] as DemoCustomer;
  const pending: PendingEvent[] = [];
  const emit = (type: string, created: number, object: StripeJson, previous?: StripeJson) =>
    pending.push({ type, created, object: structuredClone(object), ...(previous ? { previous } : {}), order: pending.length });
  const snapshot: StripeJson[] = [];
  const txns: StripeJson[] = [];
  const txnAvailable = new Map<string, number>();
  let failedChargeSeq = 9000;
  /** Invoices in the order they are issued; numbers are handed out in that order. */
  const issues: Array<{ at: number; build: (n: number) => void }> = [];
  /** Customer n → the number of its October subscription invoice. */
  const octoberInvoice = new Map<number, number>();
  /** Customer n → its paid October charge object. */
  const paidCharge = new Map<number, StripeJson>();

  /** A successful charge's balance transaction, settled in USD. */
  const settle = (n: number, c: DemoCustomer, amount: number, created: number, description: string) => {
    const converted = c.currency !== 'usd';
    const settled = converted ? convertMinor(BigInt(amount), c.currency.toUpperCase(), 'USD', c.fxRate as string) : BigInt(amount);
    const id = demoId('txn', n);
    const availableOn = midnightAfter(created, 2);
    txns.push(
      balanceTransactionObject({
        id,
        amount: settled,
        fee: cardFee(settled, converted),
        created,
        availableOn,
        type: 'charge',
        category: 'charge',
        source: demoId('ch', n),
        description,
        exchangeRate: converted ? (c.fxRate as string) : null,
      }),
    );
    txnAvailable.set(id, availableOn);
    return id;
  };

  /** Invoice `spec` is collected by card: declined attempts at `failures`, then paid at `paidAt` (or not). */
  const collect = (spec: InvoiceSpec, plan: Plan, failures: Array<{ at: number; next: number | null }>, paidAt: number | null) => {
    const { c, n } = spec;
    const amount = spec.lines.reduce((sum, l) => sum + l.amount, 0);
    const pi = demoId('pi', n);
    const describe = spec.billingReason === 'subscription_create' ? 'Subscription creation' : 'Subscription update';
    failures.forEach((f, i) => {
      const ch = demoId('ch', ++failedChargeSeq);
      emit('charge.failed', f.at, chargeObject({ id: ch, c, amount, currency: plan.currency, created: f.at, paymentIntent: pi, description: describe, failed: true }));
      spec.attempts = i + 1;
      spec.nextAttempt = f.next;
      emit('invoice.payment_failed', f.at, invoiceObject(spec));
    });
    if (paidAt === null) return;
    const txn = settle(n, c, amount, paidAt, describe);
    const charge = chargeObject({ id: demoId('ch', n), c, amount, currency: plan.currency, created: paidAt, paymentIntent: pi, description: describe, balanceTransaction: txn });
    paidCharge.set(c.n, charge);
    emit('charge.succeeded', paidAt, charge);
    spec.attempts += 1;
    spec.status = 'paid';
    spec.nextAttempt = null;
    spec.paidAt = paidAt;
    emit('invoice.paid', paidAt, invoiceObject(spec));
    emit('invoice_payment.paid', paidAt, {
      id: demoId('inpay', n),
      object: 'invoice_payment',
      amount_paid: amount,
      amount_requested: amount,
      created: spec.finalizedAt,
      currency: plan.currency,
      invoice: demoId('in', n),
      is_default: true,
      livemode: false,
      payment: { type: 'payment_intent', payment_intent: pi },
      status: 'paid',
      status_transitions: { canceled_at: null, paid_at: paidAt },
    });
  };

  for (const c of customers) {
    const plan = DEMO_PLANS[c.plan];
    const isNew = c.story === 'signup' || c.story === 'trial';
    const since = isNew ? oct(c.day, 10, c.n) : Date.UTC(2026, c.n % 9, (c.n % 27) + 1) / 1000;
    // The current period on 1 Oct ends in October on c.day (annual plans not renewing now: next year).
    const renewal = oct(c.day, 8, (c.n * 7) % 60);
    const periodEndOnOct1 = c.story === 'quiet' ? Date.UTC(2027, c.day === 12 ? 2 : 5, c.day, 8) / 1000 : renewal;
    const periodStartOnOct1 = plan.interval === 'year' ? addMonths(periodEndOnOct1, -12) : addMonths(periodEndOnOct1, -1);
    const collection = c.story === 'overdue' ? 'send_invoice' : 'charge_automatically';
    const billedPlan = c.story === 'upgrade' ? DEMO_PLANS.starter : plan;
    const base: SubState = { status: 'active', start: periodStartOnOct1, end: periodEndOnOct1, plan: billedPlan, created: since, collection };
    if (isNew) emit('customer.created', since, customerObject(c, since));
    else snapshot.push(customerObject(c, since), subscriptionObject(c, base));
    if (c.story === 'quiet') continue;

    if (c.story === 'trial') {
      const trialEnd = since + 14 * DAY;
      const sub = subscriptionObject(c, { ...base, status: 'trialing', start: since, end: trialEnd, trialStart: since, trialEnd });
      emit('customer.subscription.created', since, sub);
      emit('customer.subscription.trial_will_end', trialEnd - 3 * DAY, sub);
      continue;
    }

    // The October invoice: a renewal, or a new customer's first.
    const at = isNew ? since : renewal;
    const periodEnd = plan.interval === 'year' ? addMonths(at, 12) : addMonths(at, 1);
    issues.push({
      at,
      build: (n) => {
        octoberInvoice.set(c.n, n);
        const renewed: SubState = { ...base, start: at, end: periodEnd, latestInvoice: demoId('in', n) };
        if (isNew) emit('customer.subscription.created', at, subscriptionObject(c, renewed));
        else {
          emit('customer.subscription.updated', at, subscriptionObject(c, renewed), {
            items: { data: [{ current_period_start: base.start, current_period_end: base.end }] },
          });
        }
        const fin = at + 3600;
        const spec: InvoiceSpec = {
          n,
          c,
          created: at,
          currency: plan.currency,
          lines: [{ id: demoId('il', n), amount: billedPlan.amount, description: unitLabel(billedPlan), start: at, end: periodEnd, proration: false, price: billedPlan }],
          status: 'open',
          billingReason: isNew ? 'subscription_create' : 'subscription_cycle',
          subscription: demoId('sub', c.n),
          collection,
          attempts: 0,
          nextAttempt: null,
          finalizedAt: fin,
        };
        if (c.story === 'overdue') {
          spec.dueDate = midnightAfter(fin, 15);
          emit('invoice.finalized', fin, invoiceObject(spec));
          emit('invoice.overdue', spec.dueDate + 3 * DAY + 9 * 3600, invoiceObject(spec));
          return;
        }
        emit('invoice.finalized', fin, invoiceObject(spec));
        const retries = [fin, fin + 3 * DAY, fin + 7 * DAY, fin + 14 * DAY];
        if (c.story === 'past_due' || c.story === 'uncollectible') {
          const declined = c.story === 'past_due' ? 3 : 4;
          collect(spec, plan, retries.slice(0, declined).map((t, i) => ({ at: t, next: retries[i + 1] ?? null })), null);
          emit('customer.subscription.updated', fin + 1, subscriptionObject(c, { ...renewed, status: 'past_due' }), { status: 'active' });
          if (c.story === 'uncollectible') {
            const off = (retries[3] as number) + 60;
            spec.status = 'uncollectible';
            spec.uncollectibleAt = off;
            spec.nextAttempt = null;
            emit('invoice.marked_uncollectible', off, invoiceObject(spec), { status: 'open' });
            emit('customer.subscription.deleted', off, subscriptionObject(c, { ...renewed, status: 'canceled', canceledAt: off }), { status: 'past_due' });
          }
          return;
        }
        if (c.story === 'retry_then_paid') {
          collect(spec, plan, [{ at: fin, next: retries[1] as number }], retries[1] as number);
          return;
        }
        collect(spec, plan, [], fin);
      },
    });
  }

  // 5: Starter → Pro on 16 Oct, prorated for the time left in the period, invoiced at once.
  issues.push({
    at: oct(16, 14, 5),
    build: (n) => {
      const c = byCustomer(5);
      const at = oct(16, 14, 5);
      const start = oct(1, 8, 35);
      const end = addMonths(start, 1);
      const left = BigInt(end - at);
      const whole = BigInt(end - start);
      const credit = -Number((BigInt(DEMO_PLANS.starter.amount) * left + whole / 2n) / whole);
      const debit = Number((BigInt(DEMO_PLANS.pro.amount) * left + whole / 2n) / whole);
      const sub: SubState = { status: 'active', start, end, plan: DEMO_PLANS.pro, created: Date.UTC(2026, 5, 6) / 1000, latestInvoice: demoId('in', n) };
      emit('customer.subscription.updated', at, subscriptionObject(c, sub), { items: { data: [{ price: priceObject(DEMO_PLANS.starter) }] } });
      const spec: InvoiceSpec = {
        n,
        c,
        created: at,
        currency: 'usd',
        lines: [
          { id: demoId('il', n), amount: credit, description: 'Unused time on Starter after 16 Oct 2026', start: at, end, proration: true, price: DEMO_PLANS.starter },
          { id: demoId('il', 100 + n), amount: debit, description: 'Remaining time on Pro after 16 Oct 2026', start: at, end, proration: true, price: DEMO_PLANS.pro },
        ],
        status: 'open',
        billingReason: 'subscription_update',
        subscription: demoId('sub', 5),
        collection: 'charge_automatically',
        attempts: 0,
        nextAttempt: null,
        finalizedAt: at,
      };
      emit('invoice.finalized', at, invoiceObject(spec));
      collect(spec, DEMO_PLANS.pro, [], at);
    },
  });

  // 12: a one-off onboarding invoice sent by mistake on 8 Oct, voided the next morning.
  issues.push({
    at: oct(8, 14, 20),
    build: (n) => {
      const c = byCustomer(12);
      const at = oct(8, 14, 20);
      const spec: InvoiceSpec = {
        n,
        c,
        created: at,
        currency: 'usd',
        lines: [{ id: demoId('il', n), amount: 25000, description: 'Onboarding workshop', start: at, end: at, proration: false, price: null }],
        status: 'open',
        billingReason: 'manual',
        subscription: null,
        collection: 'send_invoice',
        attempts: 0,
        nextAttempt: null,
        finalizedAt: at,
        dueDate: midnightAfter(at, 30),
      };
      emit('invoice.finalized', at, invoiceObject(spec));
      const voided = oct(9, 10, 2);
      emit('invoice.voided', voided, invoiceObject({ ...spec, status: 'void', voidedAt: voided }), { status: 'open' });
    },
  });

  issues.sort((a, b) => a.at - b.at);
  issues.forEach((issue, i) => issue.build(i + 1));

  // 9: a partial refund of $20.00 on 22 Oct.
  {
    const n = octoberInvoice.get(9) as number;
    const at = oct(22, 15, 40);
    const refund = {
      id: demoId('re', 1),
      object: 'refund',
      amount: 2000,
      balance_transaction: demoId('txn', 801),
      charge: demoId('ch', n),
      created: at,
      currency: 'usd',
      destination_details: { card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
      metadata: { reason: 'Goodwill: outage on 20 Oct' },
      payment_intent: demoId('pi', n),
      reason: 'requested_by_customer',
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    };
    emit('refund.created', at, refund);
    emit('charge.refunded', at, { ...(paidCharge.get(9) as StripeJson), amount_refunded: 2000 }, { amount_refunded: 0 });
    txns.push(balanceTransactionObject({ id: refund.balance_transaction, amount: -2000n, fee: 0n, created: at, availableOn: at, type: 'refund', category: 'refund', source: refund.id, description: 'REFUND FOR CHARGE (Subscription update)' }));
    txnAvailable.set(refund.balance_transaction, at);
  }

  // 18: the October payment is disputed on 24 Oct; it needs a response at month end.
  {
    const n = octoberInvoice.get(18) as number;
    const at = oct(24, 11, 12);
    const withdrawal = balanceTransactionObject({
      id: demoId('txn', 901),
      amount: -19900n,
      fee: 1500n,
      created: at,
      availableOn: at,
      type: 'adjustment',
      category: 'dispute',
      source: demoId('dp', 1),
      description: `Chargeback withdrawal for ${demoId('ch', n)}`,
    });
    const dispute = {
      id: demoId('dp', 1),
      object: 'dispute',
      amount: 19900,
      balance_transactions: [] as StripeJson[],
      charge: demoId('ch', n),
      created: at,
      currency: 'usd',
      enhanced_eligibility_types: [],
      evidence_details: { due_by: oct(24) + 14 * DAY - 1, enhanced_eligibility: {}, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: demoId('pi', n),
      payment_method_details: { card: { brand: 'visa', case_type: 'chargeback', network_reason_code: '10.4' }, type: 'card' },
      reason: 'fraudulent',
      status: 'needs_response',
    };
    emit('charge.dispute.created', at, dispute);
    emit('charge.dispute.funds_withdrawn', at, { ...dispute, balance_transactions: [withdrawal] });
    emit('charge.updated', at, { ...(paidCharge.get(18) as StripeJson), disputed: true }, { disputed: false });
    txns.push(withdrawal);
    txnAvailable.set(withdrawal.id as string, at);
  }

  // 3: a $10.00 credit note on the paid October invoice, credited to the customer's balance.
  {
    const c = byCustomer(3);
    const n = octoberInvoice.get(3) as number;
    const at = oct(10, 9, 30);
    const id = demoId('cn', 1);
    emit('credit_note.created', at, {
      id,
      object: 'credit_note',
      amount: 1000,
      amount_shipping: 0,
      created: at,
      currency: 'usd',
      customer: c.id,
      customer_account: null,
      customer_balance_transaction: demoId('cbtxn', 1),
      discount_amount: 0,
      discount_amounts: [],
      effective_at: at,
      invoice: demoId('in', n),
      lines: {
        object: 'list',
        data: [{ id: demoId('cnli', 1), object: 'credit_note_line_item', amount: 1000, description: 'Service credit: onboarding delay', invoice_line_item: demoId('il', n), quantity: 1, type: 'invoice_line_item' }],
        has_more: false,
        url: `/v1/credit_notes/${id}/lines`,
      },
      livemode: false,
      memo: 'Service credit: onboarding delay',
      metadata: {},
      number: `DEMO-${String(n).padStart(4, '0')}-CN-01`,
      out_of_band_amount: null,
      pdf: `https://pay.stripe.com/credit_notes/acct_demo/test_${id}/pdf`,
      post_payment_amount: 1000,
      pre_payment_amount: 0,
      pretax_credit_amounts: [],
      reason: 'product_unsatisfactory',
      refunds: [],
      shipping_cost: null,
      status: 'issued',
      subtotal: 1000,
      subtotal_excluding_tax: 1000,
      total: 1000,
      total_excluding_tax: 1000,
      total_taxes: [],
      type: 'post_payment',
      voided_at: null,
    });
    emit('customer.updated', at, customerObject(c, Date.UTC(2026, 3, 4) / 1000, -1000), { balance: 0 });
  }

  // 7: a new billing contact.
  {
    const c = byCustomer(7);
    emit('customer.updated', oct(11, 16), customerObject({ ...c, email: 'ap@granite-logistics.example' }, Date.UTC(2026, 7, 8) / 1000), { email: c.email });
  }

  // --- payouts: every Friday, what became available since the last one --------------------------
  const payoutMembers: Record<string, string[]> = {};
  const paidOut = new Set<string>();
  [9, 16, 23].forEach((day, i) => {
    const created = oct(day, 6);
    const members = txns
      .map((t) => t.id as string)
      .filter((id) => !paidOut.has(id) && (txnAvailable.get(id) ?? Infinity) <= created)
      .sort();
    for (const id of members) paidOut.add(id);
    const amount = txns.filter((t) => members.includes(t.id as string)).reduce((s, t) => s + BigInt(t.net as number), 0n);
    const id = demoId('po', i + 1);
    const txnId = demoId('txn', 951 + i);
    const arrival = midnightAfter(created, 4);
    const payout = {
      id,
      object: 'payout',
      amount: Number(amount),
      application_fee: null,
      application_fee_amount: null,
      arrival_date: arrival,
      automatic: true,
      balance_transaction: txnId,
      created,
      currency: 'usd',
      description: 'STRIPE PAYOUT',
      destination: 'ba_demoOperating01',
      failure_balance_transaction: null,
      failure_code: null,
      failure_message: null,
      livemode: false,
      metadata: {},
      method: 'standard',
      original_payout: null,
      payout_method: null,
      reconciliation_status: 'in_progress',
      reversed_by: null,
      source_type: 'card',
      statement_descriptor: null,
      status: 'pending',
      trace_id: { status: 'pending', value: null },
      type: 'bank_account',
    };
    emit('payout.created', created, payout);
    emit(
      'payout.paid',
      arrival + 6 * 3600,
      { ...payout, status: 'paid', reconciliation_status: 'completed', trace_id: { status: 'supported', value: `DEMOTRACE${i + 1}` } },
      { status: 'pending', reconciliation_status: 'in_progress' },
    );
    txns.push(balanceTransactionObject({ id: txnId, amount: -amount, fee: 0n, created, availableOn: created, type: 'payout', category: 'payout', source: id, description: 'STRIPE PAYOUT' }));
    payoutMembers[id] = [...members, txnId];
  });

  // --- event envelopes, oldest first ------------------------------------------------------------
  pending.sort((a, b) => a.created - b.created || a.order - b.order);
  const events = pending.map((e, i) => ({
    id: demoId('evt', i + 1),
    object: 'event',
    api_version: Stripe.API_VERSION,
    created: e.created,
    data: e.previous ? { object: e.object, previous_attributes: e.previous } : { object: e.object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: e.type,
  }));

  return {
    snapshot: { at: new Date(Date.UTC(2026, 9, 1)), objects: snapshot },
    events,
    balanceTransactions: { at: new Date(Date.UTC(2026, 9, 31, 23)), objects: txns.sort((a, b) => (a.id as string).localeCompare(b.id as string)) },
    payoutMembers,
    customers,
  };
}

const REPORT_COLUMNS = [
  'balance_transaction_id',
  'created_utc',
  'available_on_utc',
  'currency',
  'gross',
  'fee',
  'net',
  'reporting_category',
  'source_id',
  'description',
  'customer_facing_amount',
  'customer_facing_currency',
  'automatic_payout_id',
  'customer_id',
  'customer_email',
  'invoice_id',
  'invoice_number',
  'charge_id',
  'payment_intent_id',
] as const;

function utc(unix: number): string {
  return new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * October's "Balance change from activity — itemized" report as Stripe would export it for the
 * dataset: every balance transaction except payouts, major units, lower-case currencies, with the
 * charge / invoice / customer / payout columns Stripe joins in.
 */
export function demoBalanceReportCsv(data: DemoStripeDataset): string {
  const charges = new Map<string, StripeJson>();
  const invoices = new Map<string, StripeJson>();
  const invoiceOfIntent = new Map<string, string>();
  const refunds = new Map<string, StripeJson>();
  const disputes = new Map<string, StripeJson>();
  for (const e of data.events) {
    const o = (e.data as { object: StripeJson }).object;
    if (o.object === 'charge') charges.set(o.id as string, o);
    if (o.object === 'refund') refunds.set(o.id as string, o);
    if (o.object === 'dispute') disputes.set(o.id as string, o);
    if (e.type === 'invoice.paid') invoices.set(o.id as string, o);
    if (o.object === 'invoice_payment') invoiceOfIntent.set((o.payment as { payment_intent: string }).payment_intent, o.invoice as string);
  }
  const payoutOf = new Map<string, string>();
  for (const [po, ids] of Object.entries(data.payoutMembers)) for (const id of ids) payoutOf.set(id, po);
  const customers = new Map(data.customers.map((c) => [c.id, c]));
  const major = (amount: number, currency: string) => minorToDecimal(BigInt(amount), currency.toUpperCase());
  const rows = [REPORT_COLUMNS.join(',')];
  for (const t of data.balanceTransactions.objects) {
    if (t.type === 'payout') continue;
    const source = t.source as string;
    const chargeId = source.startsWith('ch_')
      ? source
      : source.startsWith('re_')
        ? ((refunds.get(source)?.charge as string | undefined) ?? '')
        : ((disputes.get(source)?.charge as string | undefined) ?? '');
    const ch = charges.get(chargeId);
    const pi = (ch?.payment_intent as string | undefined) ?? '';
    const inv = invoices.get(invoiceOfIntent.get(pi) ?? '');
    const cus = customers.get((ch?.customer as string | undefined) ?? '');
    const facing = source.startsWith('ch_') && ch ? major(ch.amount as number, ch.currency as string) : '';
    const cells: Record<(typeof REPORT_COLUMNS)[number], string> = {
      balance_transaction_id: t.id as string,
      created_utc: utc(t.created as number),
      available_on_utc: utc(t.available_on as number),
      currency: t.currency as string,
      gross: major(t.amount as number, t.currency as string),
      fee: major(t.fee as number, t.currency as string),
      net: major(t.net as number, t.currency as string),
      reporting_category: t.reporting_category as string,
      source_id: source,
      description: (t.description as string | null) ?? '',
      customer_facing_amount: facing,
      customer_facing_currency: facing ? (ch?.currency as string) : '',
      automatic_payout_id: payoutOf.get(t.id as string) ?? '',
      customer_id: cus?.id ?? '',
      customer_email: cus?.email ?? '',
      invoice_id: (inv?.id as string | undefined) ?? '',
      invoice_number: (inv?.number as string | undefined) ?? '',
      charge_id: chargeId,
      payment_intent_id: pi,
    };
    rows.push(REPORT_COLUMNS.map((c) => csvCell(cells[c])).join(','));
  }
  return `${rows.join('\n')}\n`;
}
