/**
 * Builders for realistic Stripe API objects, shaped after Stripe's own example objects (the OpenAPI
 * fixtures) for the API version stripe-node 23 pins (`Stripe.API_VERSION`, 2026-10-28.endive).
 *
 * Conventions, matching what the real API returns:
 * - amounts are integers in minor units, timestamps are unix seconds, `livemode` is false;
 * - expandable references are ids (strings), never nested objects, unless a test passes one;
 * - "not set" is `null`, not a missing key;
 * - decimal-string fields (`unit_amount_decimal`, `amount_decimal`, `quantity_decimal`) are typed as
 *   `Stripe.Decimal` by stripe-node 23, so the builders create `Stripe.Decimal` values; they
 *   serialise to the wire string (`"2000"`) through `toJSON`.
 *
 * Where the example objects and stripe-node 23's types disagree, the types win because they describe
 * the pinned API version: `Invoice` has no top-level `subscription` (it lives in
 * `parent.subscription_details`), and `Dispute.intended_submission_method` /
 * `SubscriptionItem.current_trial` exist (null).
 *
 * Every builder takes shallow overrides: a field you pass replaces the default whole. Fields that are
 * derived from others (invoice totals, balance-transaction `net`, statuses' timestamps) are only
 * derived when you did not pass them, so an explicit value always wins.
 *
 * Ids are deterministic: `<prefix>_fake<10-digit counter>`, one counter per prefix, so that ids sort
 * in creation order and a test can predict them. Call `resetFixtureIds()` in `beforeEach` when a test
 * depends on exact ids.
 */
import Stripe from 'stripe';

type Decimal = Stripe.Decimal;

// ---------------------------------------------------------------------------------------------
// Ids, time
// ---------------------------------------------------------------------------------------------

const counters = new Map<string, number>();

/** Next deterministic id for a Stripe prefix: `nextId('cus')` → `cus_fake0000000001`. */
export function nextId(prefix: string): string {
  const n = (counters.get(prefix) ?? 0) + 1;
  counters.set(prefix, n);
  return `${prefix}_fake${String(n).padStart(10, '0')}`;
}

/** Next value of a named sequence (invoice numbers, request ids): 1, 2, 3… Shares the reset. */
export function nextSeq(name: string): number {
  const key = `#${name}`;
  const n = (counters.get(key) ?? 0) + 1;
  counters.set(key, n);
  return n;
}

/** Resets every id counter and sequence, so the next `customer()` is `cus_fake0000000001` again. */
export function resetFixtureIds(): void {
  counters.clear();
}

/**
 * Default `created` for every builder: 2026-11-01T09:00:00Z, the same instant `ManualClock` starts at,
 * so fixtures and the app's clock agree unless a test moves one of them.
 */
export const FIXTURE_NOW = 1_793_523_600;

export const DAY = 86_400;

/** Unix seconds for an ISO date/time, for readable overrides: `created: unix('2026-10-03')`. */
export function unix(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`unix(): not a date: ${iso}`);
  return Math.floor(ms / 1000);
}

/** Adds calendar months in UTC, clamping the day like Stripe's billing cycle does (Jan 31 → Feb 28). */
export function addInterval(at: number, interval: Stripe.Price.Recurring.Interval, count = 1): number {
  if (interval === 'day') return at + count * DAY;
  if (interval === 'week') return at + count * 7 * DAY;
  const d = new Date(at * 1000);
  const months = interval === 'year' ? 12 * count : count;
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return Math.floor(target.getTime() / 1000);
}

function decimal(value: number | string): Decimal {
  return Stripe.Decimal.from(value);
}

function list<T>(data: T[], url: string): Stripe.ApiList<T> {
  return { object: 'list', data, has_more: false, url };
}

function emptyAddress(): Stripe.Address {
  return { city: null, country: null, line1: null, line2: null, postal_code: null, state: null };
}

// ---------------------------------------------------------------------------------------------
// Customer
// ---------------------------------------------------------------------------------------------

export type CustomerInput = Partial<Stripe.Customer>;

export function customer(overrides: CustomerInput = {}): Stripe.Customer {
  const id = overrides.id ?? nextId('cus');
  const n = id.replace(/\D/g, '').slice(-4).padStart(4, '0');
  return {
    id,
    object: 'customer',
    address: emptyAddress(),
    balance: 0,
    created: FIXTURE_NOW,
    currency: 'usd',
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: `customer${n}@example.com`,
    invoice_prefix: `ABC${n}`,
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: { amount_tax_display: null, template: null },
    },
    livemode: false,
    metadata: {},
    name: `Customer ${n}`,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Price, plan, discount, subscription
// ---------------------------------------------------------------------------------------------

export interface PriceInput extends Partial<Stripe.Price> {
  /** Shorthand for `recurring.interval`. */
  interval?: Stripe.Price.Recurring.Interval;
  /** Shorthand for `recurring.interval_count`. */
  interval_count?: number;
}

export function price(input: PriceInput = {}): Stripe.Price {
  const { interval = 'month', interval_count = 1, ...overrides } = input;
  const unitAmount = overrides.unit_amount === undefined ? 2000 : overrides.unit_amount;
  return {
    id: overrides.id ?? nextId('price'),
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: FIXTURE_NOW,
    currency: 'usd',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: nextId('prod'),
    recurring: { interval, interval_count, meter: null, usage_type: 'licensed', trial_period_days: null },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: unitAmount,
    unit_amount_decimal: unitAmount === null ? null : decimal(unitAmount),
    ...overrides,
  };
}

/** The legacy `plan` Stripe still nests in every subscription item, mirroring its price. */
function planFor(p: Stripe.Price): Stripe.Plan {
  return {
    id: p.id,
    object: 'plan',
    active: p.active,
    amount: p.unit_amount,
    amount_decimal: p.unit_amount_decimal,
    billing_scheme: p.billing_scheme,
    created: p.created,
    currency: p.currency,
    interval: p.recurring?.interval ?? 'month',
    interval_count: p.recurring?.interval_count ?? 1,
    livemode: false,
    metadata: {},
    meter: null,
    nickname: p.nickname,
    product: typeof p.product === 'string' ? p.product : p.product.id,
    tiers_mode: p.tiers_mode,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'licensed',
  };
}

export function discount(overrides: Partial<Stripe.Discount> = {}): Stripe.Discount {
  return {
    id: nextId('di'),
    object: 'discount',
    checkout_session: null,
    customer: null,
    customer_account: null,
    end: null,
    invoice: null,
    invoice_item: null,
    promotion_code: null,
    source: { coupon: nextId('coupon'), type: 'coupon' },
    start: FIXTURE_NOW,
    subscription: null,
    subscription_item: null,
    ...overrides,
  };
}

export interface SubscriptionItemInput extends Partial<Stripe.SubscriptionItem> {
  /** Overrides for the item's price (ignored when `price` is a full object, i.e. has `object`). */
  priceInput?: PriceInput;
}

export function subscriptionItem(input: SubscriptionItemInput = {}): Stripe.SubscriptionItem {
  const { priceInput, ...overrides } = input;
  const p = overrides.price ?? price(priceInput);
  const start = overrides.current_period_start ?? FIXTURE_NOW;
  const end =
    overrides.current_period_end ??
    addInterval(start, p.recurring?.interval ?? 'month', p.recurring?.interval_count ?? 1);
  return {
    id: overrides.id ?? nextId('si'),
    object: 'subscription_item',
    billing_thresholds: null,
    created: FIXTURE_NOW,
    current_period_end: end,
    current_period_start: start,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: planFor(p),
    price: p,
    quantity: 1,
    subscription: nextId('sub'),
    tax_rates: [],
    ...overrides,
  };
}

export interface SubscriptionInput extends Partial<Omit<Stripe.Subscription, 'items'>> {
  /** Full items (their `subscription` is set to this one); when absent one item is built from the shorthands. */
  items?: Stripe.SubscriptionItem[];
  /** Shorthand: the single item's price, e.g. `{ unit_amount: 4900, interval: 'year' }`. */
  price?: PriceInput;
  /** Shorthand: the single item's quantity. */
  quantity?: number;
  /** Shorthand: the single item's period (since 2025 the period lives on items, not the subscription). */
  current_period_start?: number;
  current_period_end?: number;
}

export function subscription(input: SubscriptionInput = {}): Stripe.Subscription {
  const { items, price: priceInput, quantity, current_period_start, current_period_end, ...overrides } = input;
  const id = overrides.id ?? nextId('sub');
  const created = overrides.created ?? FIXTURE_NOW;
  const status = overrides.status ?? 'active';
  const itemList =
    items?.map((item) => ({ ...item, subscription: id })) ??
    [
      subscriptionItem({
        subscription: id,
        created,
        current_period_start: current_period_start ?? created,
        ...(current_period_end === undefined ? {} : { current_period_end }),
        ...(quantity === undefined ? {} : { quantity }),
        priceInput: { currency: overrides.currency ?? 'usd', ...priceInput },
      }),
    ];
  const trialing = status === 'trialing';
  const ended = status === 'canceled' || status === 'incomplete_expired';
  return {
    id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null, disabled_reason: null },
    billing_cycle_anchor: created,
    billing_cycle_anchor_config: null,
    billing_mode: { type: 'classic', flexible: null },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: ended ? created : null,
    cancellation_details: {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: ended ? 'cancellation_requested' : null,
    },
    collection_method: 'charge_automatically',
    created,
    currency: 'usd',
    customer: nextId('cus'),
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: ended ? created : null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } },
    items: list(itemList, `/v1/subscription_items?subscription=${id}`),
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: created,
    status,
    test_clock: null,
    transfer_data: null,
    trial_end: trialing ? created + 14 * DAY : null,
    trial_settings: { end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' } },
    trial_start: trialing ? created : null,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Invoice
// ---------------------------------------------------------------------------------------------

export interface InvoiceLineItemInput extends Partial<Stripe.InvoiceLineItem> {
  /** Marks the line as a proration (sets `parent.*_details.proration`). */
  proration?: boolean;
  /** Subscription item the line bills; makes the line `subscription_item_details`. */
  subscription_item?: string;
  /** Price the line bills (`pricing.price_details.price`). */
  price?: string;
}

export function invoiceLineItem(input: InvoiceLineItemInput = {}): Stripe.InvoiceLineItem {
  const { proration = false, subscription_item, price: priceId, ...overrides } = input;
  const amount = overrides.amount ?? 2000;
  const quantity = overrides.quantity === undefined ? 1 : overrides.quantity;
  const subscriptionId = typeof overrides.subscription === 'string' ? overrides.subscription : (overrides.subscription?.id ?? null);
  const bySubscription = subscription_item !== undefined || subscriptionId !== null;
  const start = overrides.period?.start ?? FIXTURE_NOW;
  const parent: Stripe.InvoiceLineItem.Parent = bySubscription
    ? {
        type: 'subscription_item_details',
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: proration ? nextId('ii') : null,
          proration,
          proration_details: { credited_items: null },
          subscription: subscriptionId,
          subscription_item: subscription_item ?? nextId('si'),
        },
      }
    : {
        type: 'invoice_item_details',
        invoice_item_details: {
          invoice_item: nextId('ii'),
          proration,
          proration_details: { credited_items: null },
          subscription: null,
        },
        subscription_item_details: null,
      };
  return {
    id: overrides.id ?? nextId('il'),
    object: 'line_item',
    amount,
    currency: 'usd',
    description: bySubscription ? `${quantity ?? 1} × Pro plan` : 'Professional services',
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    parent,
    period: { start, end: bySubscription ? addInterval(start, 'month') : start },
    pretax_credit_amounts: [],
    pricing: {
      type: 'price_details',
      price_details: { price: priceId ?? nextId('price'), product: nextId('prod') },
      unit_amount_decimal: quantity ? decimal(Math.round(amount / quantity)) : null,
    },
    quantity,
    quantity_decimal: quantity === null ? null : decimal(quantity),
    subscription: subscriptionId,
    subtotal: amount,
    taxes: [],
    ...overrides,
  };
}

export interface InvoiceInput extends Partial<Omit<Stripe.Invoice, 'lines'>> {
  /** Line items; default is one line for the whole amount. `invoice` on each line is set for you. */
  lines?: Stripe.InvoiceLineItem[];
  /** Shorthand: bill this subscription (sets `parent.subscription_details` and `billing_reason`). */
  subscription?: string | null;
}

/**
 * An invoice whose amounts and timestamps agree with its status unless overridden: `paid` has
 * `amount_paid = amount_due` and `paid_at`, `open` charge-automatically has one failed attempt and a
 * `next_payment_attempt`, `send_invoice` has a `due_date` 30 days out, `draft` has no number.
 */
export function invoice(input: InvoiceInput = {}): Stripe.Invoice {
  const { lines: lineInput, subscription: subscriptionId = null, ...overrides } = input;
  const id = overrides.id ?? nextId('in');
  const created = overrides.created ?? FIXTURE_NOW;
  const status = overrides.status === undefined ? 'open' : overrides.status;
  const currency = overrides.currency ?? 'usd';
  const collection = overrides.collection_method ?? 'charge_automatically';
  const draft = status === 'draft';

  const lines = (
    lineInput ??
    [
      invoiceLineItem({
        amount: overrides.amount_due ?? overrides.total ?? 2000,
        currency,
        period: { start: created, end: subscriptionId ? addInterval(created, 'month') : created },
        ...(subscriptionId ? { subscription: subscriptionId } : {}),
      }),
    ]
  ).map((line) => ({ ...line, invoice: id }));
  const subtotal = overrides.subtotal ?? lines.reduce((sum, l) => sum + l.amount, 0);
  const total = overrides.total ?? subtotal;
  const amountDue = overrides.amount_due ?? total;
  const amountPaid = overrides.amount_paid ?? (status === 'paid' ? amountDue : 0);
  const attemptCount =
    overrides.attempt_count ?? (status === 'paid' || (status === 'open' && collection === 'charge_automatically') ? 1 : 0);

  return {
    id,
    object: 'invoice',
    account_country: 'US',
    account_name: 'Billops Test Co',
    account_tax_ids: null,
    amount_due: amountDue,
    amount_overpaid: 0,
    amount_paid: amountPaid,
    amount_remaining: amountDue - amountPaid,
    amount_shipping: 0,
    application: null,
    attempt_count: attemptCount,
    attempted: attemptCount > 0,
    auto_advance: status === 'open',
    automatic_tax: { enabled: false, liability: null, status: null, disabled_reason: null, provider: null },
    automatically_finalizes_at: null,
    billing_reason: subscriptionId ? 'subscription_cycle' : 'manual',
    collection_method: collection,
    created,
    currency,
    custom_fields: null,
    customer: nextId('cus'),
    customer_account: null,
    customer_address: null,
    customer_email: null,
    customer_name: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: collection === 'send_invoice' ? created + 30 * DAY : null,
    effective_at: draft ? null : created,
    ending_balance: draft ? null : 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: draft ? null : `https://invoice.stripe.com/i/acct_fake/test_${id}`,
    invoice_pdf: draft ? null : `https://pay.stripe.com/invoice/acct_fake/test_${id}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: list(lines, `/v1/invoices/${id}/lines`),
    livemode: false,
    metadata: {},
    next_payment_attempt:
      status === 'open' && collection === 'charge_automatically' ? created + 3 * DAY : null,
    number: draft ? null : `ABC-${String(nextSeq('invoice_number')).padStart(4, '0')}`,
    on_behalf_of: null,
    parent: subscriptionId
      ? {
          type: 'subscription_details',
          quote_details: null,
          subscription_details: { metadata: null, subscription: subscriptionId },
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: created,
    period_start: created,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status,
    status_transitions: {
      finalized_at: draft ? null : created,
      marked_uncollectible_at: status === 'uncollectible' ? created : null,
      paid_at: status === 'paid' ? created : null,
      voided_at: status === 'void' ? created : null,
    },
    subtotal,
    subtotal_excluding_tax: subtotal,
    test_clock: null,
    total,
    total_discount_amounts: [],
    total_excluding_tax: total,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: created,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Charge, refund, dispute
// ---------------------------------------------------------------------------------------------

/** Stripe's test-mode card decline, used when a charge is built with `status: 'failed'`. */
const DECLINE = {
  failure_code: 'card_declined',
  failure_message: 'Your card was declined.',
  outcome: {
    advice_code: 'try_again_later',
    network_advice_code: null,
    network_decline_code: null,
    network_status: 'declined_by_network',
    reason: 'generic_decline',
    risk_level: 'normal',
    seller_message: 'The bank did not return any further details with this decline.',
    type: 'issuer_declined',
  },
} as const;

export function charge(overrides: Partial<Stripe.Charge> = {}): Stripe.Charge {
  const id = overrides.id ?? nextId('ch');
  const amount = overrides.amount ?? 2000;
  const status = overrides.status ?? 'succeeded';
  const failed = status === 'failed';
  const succeeded = status === 'succeeded';
  const amountRefunded = overrides.amount_refunded ?? 0;
  return {
    id,
    object: 'charge',
    amount,
    amount_captured: succeeded ? amount : 0,
    amount_refunded: amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: failed ? null : nextId('txn'),
    billing_details: { address: emptyAddress(), email: null, name: null, phone: null, tax_id: null },
    calculated_statement_descriptor: 'BILLOPS TEST',
    captured: succeeded,
    created: FIXTURE_NOW,
    currency: 'usd',
    customer: null,
    description: null,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: failed ? DECLINE.failure_code : null,
    failure_message: failed ? DECLINE.failure_message : null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: failed
      ? { ...DECLINE.outcome }
      : {
          advice_code: null,
          network_advice_code: null,
          network_decline_code: null,
          network_status: 'approved_by_network',
          reason: null,
          risk_level: 'normal',
          seller_message: 'Payment complete.',
          type: 'authorized',
        },
    paid: succeeded,
    payment_intent: nextId('pi'),
    payment_method: nextId('pm'),
    // Minimal card details: the fields reconciliation and dunning read (brand, last4, expiry).
    payment_method_details: {
      type: 'card',
      card: {
        amount_authorized: failed ? null : amount,
        authorization_code: null,
        brand: 'visa',
        checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
        country: 'US',
        electronic_commerce_indicator: null,
        exp_month: 8,
        exp_year: 2030,
        extended_authorization: { status: 'disabled' },
        fingerprint: 'AOB934RVNwzk6xtn',
        funding: 'credit',
        incremental_authorization: { status: 'unavailable' },
        installments: null,
        last4: '4242',
        mandate: null,
        multicapture: { status: 'unavailable' },
        network: 'visa',
        network_token: { used: false },
        overcapture: { maximum_amount_capturable: amount, status: 'unavailable' },
        network_transaction_id: null,
        regulated_status: 'unregulated',
        three_d_secure: null,
        transaction_link_id: null,
        wallet: null,
      },
    },
    receipt_email: null,
    receipt_number: null,
    receipt_url: succeeded ? `https://pay.stripe.com/receipts/payment/test_${id}` : null,
    refunded: amountRefunded > 0 && amountRefunded >= amount,
    refunds: list([], `/v1/charges/${id}/refunds`),
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status,
    transfer_data: null,
    transfer_group: null,
    ...overrides,
  };
}

export function refund(overrides: Partial<Stripe.Refund> = {}): Stripe.Refund {
  return {
    id: overrides.id ?? nextId('re'),
    object: 'refund',
    amount: 2000,
    balance_transaction: nextId('txn'),
    charge: nextId('ch'),
    created: FIXTURE_NOW,
    currency: 'usd',
    customer: null,
    customer_account: null,
    destination_details: { card: { type: 'refund' }, type: 'card' },
    metadata: {},
    payment_intent: null,
    payment_method: null,
    reason: null,
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
    ...overrides,
  };
}

export function dispute(overrides: Partial<Stripe.Dispute> = {}): Stripe.Dispute {
  const created = overrides.created ?? FIXTURE_NOW;
  return {
    id: overrides.id ?? nextId('dp'),
    object: 'dispute',
    amount: 2000,
    balance_transactions: [],
    charge: nextId('ch'),
    created,
    currency: 'usd',
    enhanced_eligibility_types: [],
    evidence: {
      access_activity_log: null,
      billing_address: null,
      cancellation_policy: null,
      cancellation_policy_disclosure: null,
      cancellation_rebuttal: null,
      customer_communication: null,
      customer_email_address: null,
      customer_name: null,
      customer_purchase_ip: null,
      customer_signature: null,
      duplicate_charge_documentation: null,
      duplicate_charge_explanation: null,
      duplicate_charge_id: null,
      enhanced_evidence: {},
      product_description: null,
      receipt: null,
      refund_policy: null,
      refund_policy_disclosure: null,
      refund_refusal_explanation: null,
      service_date: null,
      service_documentation: null,
      shipping_address: null,
      shipping_carrier: null,
      shipping_date: null,
      shipping_documentation: null,
      shipping_tracking_number: null,
      uncategorized_file: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: created + 7 * DAY,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: null,
    payment_method_details: {
      card: { brand: 'visa', case_type: 'chargeback', network: 'visa', network_reason_code: '10.4' },
      type: 'card',
    },
    reason: 'fraudulent',
    status: 'needs_response',
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Credit note
// ---------------------------------------------------------------------------------------------

export function creditNoteLineItem(overrides: Partial<Stripe.CreditNoteLineItem> = {}): Stripe.CreditNoteLineItem {
  const amount = overrides.amount ?? 1000;
  return {
    id: overrides.id ?? nextId('cnli'),
    object: 'credit_note_line_item',
    amount,
    description: 'Service credit',
    discount_amount: 0,
    discount_amounts: [],
    invoice_line_item: nextId('il'),
    livemode: false,
    metadata: null,
    pretax_credit_amounts: [],
    quantity: 1,
    tax_rates: [],
    taxes: [],
    type: 'invoice_line_item',
    unit_amount: null,
    unit_amount_decimal: null,
    ...overrides,
  };
}

export interface CreditNoteInput extends Partial<Omit<Stripe.CreditNote, 'lines'>> {
  lines?: Stripe.CreditNoteLineItem[];
}

/** A credit note; `type` decides whether the amount shows in `pre_payment_amount` or `post_payment_amount`. */
export function creditNote(input: CreditNoteInput = {}): Stripe.CreditNote {
  const { lines: lineInput, ...overrides } = input;
  const id = overrides.id ?? nextId('cn');
  const amount = overrides.amount ?? lineInput?.reduce((sum, l) => sum + l.amount, 0) ?? 1000;
  const lines = lineInput ?? [creditNoteLineItem({ amount })];
  const type = overrides.type ?? 'pre_payment';
  const status = overrides.status ?? 'issued';
  return {
    id,
    object: 'credit_note',
    amount,
    amount_shipping: 0,
    created: FIXTURE_NOW,
    currency: 'usd',
    customer: nextId('cus'),
    customer_account: null,
    customer_balance_transaction: null,
    discount_amount: 0,
    discount_amounts: [],
    effective_at: FIXTURE_NOW,
    invoice: nextId('in'),
    lines: list(lines, `/v1/credit_notes/${id}/lines`),
    livemode: false,
    memo: null,
    metadata: {},
    number: `ABC-${String(nextSeq('invoice_number')).padStart(4, '0')}-CN-01`,
    out_of_band_amount: null,
    pdf: `https://pay.stripe.com/credit_notes/acct_fake/test_${id}/pdf`,
    post_payment_amount: type === 'post_payment' ? amount : 0,
    pre_payment_amount: type === 'pre_payment' ? amount : 0,
    pretax_credit_amounts: [],
    reason: null,
    refunds: [],
    shipping_cost: null,
    status,
    subtotal: amount,
    subtotal_excluding_tax: amount,
    total: amount,
    total_excluding_tax: amount,
    total_taxes: [],
    type,
    voided_at: status === 'void' ? FIXTURE_NOW : null,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Balance transactions, payouts, customer balance
// ---------------------------------------------------------------------------------------------

/** Stripe's US card pricing (2.9% + 30¢), rounded half up: the default `fee` for charge transactions. */
export function cardFee(amount: number): number {
  return Math.round(amount * 0.029) + 30;
}

/**
 * A balance transaction with `net = amount - fee` and a matching `fee_details` entry unless those are
 * overridden. The fee defaults to Stripe card pricing for `type: 'charge'`/`'payment'` and 0 otherwise.
 */
export function balanceTransaction(overrides: Partial<Stripe.BalanceTransaction> = {}): Stripe.BalanceTransaction {
  const type = overrides.type ?? 'charge';
  const amount = overrides.amount ?? 2000;
  const currency = overrides.currency ?? 'usd';
  const fee = overrides.fee ?? (type === 'charge' || type === 'payment' ? cardFee(amount) : 0);
  const created = overrides.created ?? FIXTURE_NOW;
  const sourcePrefix: Partial<Record<string, string>> = {
    charge: 'ch',
    payment: 'py',
    refund: 're',
    payment_refund: 're',
    adjustment: 'du',
    payout: 'po',
    stripe_fee: 'fee',
  };
  return {
    id: overrides.id ?? nextId('txn'),
    object: 'balance_transaction',
    amount,
    available_on: created + 2 * DAY,
    balance_type: 'payments',
    created,
    currency,
    description: null,
    exchange_rate: null,
    fee,
    fee_details: fee === 0 ? [] : [{ amount: fee, application: null, currency, description: 'Stripe processing fees', type: 'stripe_fee' }],
    net: amount - fee,
    reporting_category: type === 'adjustment' ? 'dispute' : type,
    source: nextId(sourcePrefix[type] ?? 'src'),
    status: 'available',
    type,
    ...overrides,
  };
}

export function payout(overrides: Partial<Stripe.Payout> = {}): Stripe.Payout {
  const created = overrides.created ?? FIXTURE_NOW;
  return {
    id: overrides.id ?? nextId('po'),
    object: 'payout',
    amount: 1100,
    application_fee: null,
    application_fee_amount: null,
    arrival_date: created + 2 * DAY,
    automatic: true,
    balance_transaction: nextId('txn'),
    created,
    currency: 'usd',
    description: 'STRIPE PAYOUT',
    destination: nextId('ba'),
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: {},
    method: 'standard',
    original_payout: null,
    payout_method: null,
    reconciliation_status: 'completed',
    reversed_by: null,
    source_type: 'card',
    statement_descriptor: null,
    status: 'paid',
    trace_id: { status: 'supported', value: null },
    type: 'bank_account',
    ...overrides,
  };
}

/** A customer balance transaction: negative `amount` is a credit to the customer (Stripe's sign). */
export function customerBalanceTransaction(
  overrides: Partial<Stripe.CustomerBalanceTransaction> = {},
): Stripe.CustomerBalanceTransaction {
  const amount = overrides.amount ?? -500;
  return {
    id: overrides.id ?? nextId('cbtxn'),
    object: 'customer_balance_transaction',
    amount,
    checkout_session: null,
    created: FIXTURE_NOW,
    credit_note: null,
    currency: 'usd',
    customer: nextId('cus'),
    customer_account: null,
    description: null,
    ending_balance: amount,
    invoice: null,
    livemode: false,
    metadata: {},
    type: 'adjustment',
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Linked sets
// ---------------------------------------------------------------------------------------------

/**
 * A succeeded charge and the balance transaction it produced, pointing at each other (the pair a
 * payout reconciliation reads). `fee` defaults to Stripe card pricing.
 */
export function chargeWithBalanceTransaction(
  chargeOverrides: Partial<Stripe.Charge> = {},
  txnOverrides: Partial<Stripe.BalanceTransaction> = {},
): { charge: Stripe.Charge; balanceTransaction: Stripe.BalanceTransaction } {
  const txnId = txnOverrides.id ?? nextId('txn');
  const ch = charge({ ...chargeOverrides, balance_transaction: txnId });
  const txn = balanceTransaction({
    id: txnId,
    type: 'charge',
    amount: ch.amount,
    currency: ch.currency,
    created: ch.created,
    description: ch.description,
    source: ch.id,
    ...txnOverrides,
  });
  return { charge: ch, balanceTransaction: txn };
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** The event variant for a type, e.g. `EventOf<'invoice.paid'>` is `Stripe.InvoicePaidEvent`. */
export type EventOf<T extends Stripe.Event.Type> = Extract<Stripe.Event, { type: T }>;

export interface EventOptions<T extends Stripe.Event.Type> {
  /** The changed fields' OLD values, as Stripe sends them on `*.updated` events. */
  previousAttributes?: EventOf<T>['data']['previous_attributes'];
  created?: number;
  id?: string;
  /** Defaults to the version stripe-node pins; real accounts may send another one. */
  apiVersion?: string | null;
  /** The API request that caused the event; `null` ids mean "automatic" (e.g. a subscription renewal). */
  request?: Stripe.Event.Request | null;
  pendingWebhooks?: number;
}

/**
 * An Event envelope around `object`, as delivered to webhooks and listed by `/v1/events`.
 * `data.previous_attributes` is present only when given, like Stripe (which sends it on updates only).
 */
export function event<T extends Stripe.Event.Type>(
  type: T,
  object: EventOf<T>['data']['object'],
  options: EventOptions<T> = {},
): EventOf<T> {
  const data: Record<string, unknown> = { object };
  if (options.previousAttributes !== undefined) data.previous_attributes = options.previousAttributes;
  const built = {
    id: options.id ?? nextId('evt'),
    object: 'event',
    api_version: options.apiVersion === undefined ? Stripe.API_VERSION : options.apiVersion,
    created: options.created ?? FIXTURE_NOW,
    data,
    livemode: false,
    pending_webhooks: options.pendingWebhooks ?? 1,
    request: options.request === undefined ? { id: null, idempotency_key: null } : options.request,
    type,
  };
  // Safe: `data.object` is typed by T at the call site; TypeScript cannot narrow the union from a
  // generic `type` on its own.
  return built as unknown as EventOf<T>;
}

/** JSON for a webhook body or a fake-server response: Decimals become their wire strings. */
export function toWire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
