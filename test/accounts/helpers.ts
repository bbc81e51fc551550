import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/index.js';
import { normalizeObjects } from '../../src/stripe/index.js';
import {
  DAY,
  FIXTURE_NOW,
  charge,
  creditNote,
  customer,
  discount,
  dispute,
  invoice,
  refund,
  subscription,
  toWire,
} from '../support/stripe-fixtures.js';

/** An `invoice_payment` (API 2025-03-31+): how a payment intent's charges belong to an invoice. */
export function invoicePayment(o: { id: string; invoice: string; paymentIntent: string; amount: number; currency?: string; status?: string; created?: number }) {
  return {
    id: o.id,
    object: 'invoice_payment',
    invoice: o.invoice,
    payment: { type: 'payment_intent', payment_intent: o.paymentIntent, charge: null },
    amount_paid: o.status === 'paid' ? o.amount : null,
    amount_requested: o.amount,
    currency: o.currency ?? 'usd',
    status: o.status ?? 'open',
    is_default: true,
    status_transitions: { paid_at: null, canceled_at: null },
    livemode: false,
    created: o.created ?? FIXTURE_NOW,
  };
}

/** Stripe objects into the normalized tables, the way the backfill writes them. */
export async function loadStripe(db: Kysely<Database>, objects: readonly object[], at = new Date(FIXTURE_NOW * 1000)): Promise<void> {
  await db.transaction().execute((trx) =>
    normalizeObjects(trx, objects.map((o) => ({ object: toWire(o), version: { at, eventId: null } })), at),
  );
}

export const ACME = 'cus_AcmeCorp0001';
export const ACME_ROCKETS = 'cus_AcmeRockets01';
export const ACME_OLD = 'cus_AcmeOld00001';
export const TANAKA = 'cus_Tanaka000001';
export const SCRIPT = 'cus_Script000001';
export const SCRIPT_TOO = 'cus_Script000002';
export const UMBRELLA = 'cus_Umbrella0001';

const ago = (days: number) => FIXTURE_NOW - days * DAY;

/**
 * Acme Corp (USD): four paying subscriptions (monthly × 3 seats, yearly, weekly × 2, quarterly), a
 * trial and a canceled one; $50 of credit; an invoice sent for payment 10 days past due, an
 * automatically charged one that failed twice and is retried, a paid one whose charge is disputed
 * (needs a response) and partly refunded, a credit note, and an old dispute that was won.
 * Tanaka Kogyo (JPY, a zero-decimal currency): monthly × 2 and yearly. Two more "Acme" names and a
 * customer whose name is markup.
 */
export function accountFixtures(): object[] {
  const acme = customer({ id: ACME, name: 'Acme Corp', email: 'Billing@Acme.example', balance: -5000, delinquent: true, created: ago(400) });
  const subs = [
    subscription({ id: 'sub_AcmeStarter', customer: ACME, quantity: 3, price: { unit_amount: 4900, nickname: 'Starter' } }),
    subscription({ id: 'sub_AcmeAnnual', customer: ACME, price: { unit_amount: 199000, interval: 'year', nickname: 'Pro (annual)' } }),
    subscription({ id: 'sub_AcmeWeekly', customer: ACME, quantity: 2, price: { unit_amount: 1000, interval: 'week', nickname: 'Support add-on' } }),
    subscription({ id: 'sub_AcmeQuarter', customer: ACME, price: { unit_amount: 30000, interval: 'month', interval_count: 3, nickname: 'Data (quarterly)' } }),
    subscription({ id: 'sub_AcmeTrial', customer: ACME, status: 'trialing', price: { unit_amount: 9900, nickname: 'Business' } }),
    subscription({ id: 'sub_AcmeOld', customer: ACME, status: 'canceled', created: ago(300), price: { unit_amount: 2900, nickname: 'Legacy' } }),
  ];
  // Sent for payment 40 days ago, due in 30: 10 days overdue now.
  const sent = invoice({ id: 'in_AcmeSent', number: 'ACME-0001', customer: ACME, collection_method: 'send_invoice', created: ago(40), amount_due: 120000 });
  // Charged automatically 5 days ago: declined, declined again 2 days ago; the next try is in 2 days.
  const retried = invoice({
    id: 'in_AcmeRetry',
    number: 'ACME-0002',
    customer: ACME,
    subscription: 'sub_AcmeStarter',
    created: ago(5),
    amount_due: 14700,
    attempt_count: 2,
    next_payment_attempt: FIXTURE_NOW + 2 * DAY,
  });
  const firstTry = charge({ id: 'ch_AcmeFail1', customer: ACME, payment_intent: 'pi_AcmeRetry', status: 'failed', amount: 14700, created: ago(5) });
  const secondTry = charge({
    id: 'ch_AcmeFail2',
    customer: ACME,
    payment_intent: 'pi_AcmeRetry',
    status: 'failed',
    amount: 14700,
    created: ago(2),
    failure_code: 'insufficient_funds',
    failure_message: 'Your card has insufficient funds.',
  });
  const link = invoicePayment({ id: 'inpay_AcmeRetry', invoice: 'in_AcmeRetry', paymentIntent: 'pi_AcmeRetry', amount: 14700, created: ago(5) });
  const paid = invoice({ id: 'in_AcmePaid', number: 'ACME-0000', customer: ACME, status: 'paid', created: ago(20), amount_due: 19900 });
  const paidCharge = charge({ id: 'ch_AcmePaid', customer: ACME, payment_intent: 'pi_AcmePaid', amount: 19900, created: ago(20), disputed: true });
  const paidLink = invoicePayment({ id: 'inpay_AcmePaid', invoice: 'in_AcmePaid', paymentIntent: 'pi_AcmePaid', amount: 19900, status: 'paid', created: ago(20) });
  const openDispute = dispute({ id: 'dp_AcmeOpen', charge: 'ch_AcmePaid', amount: 19900, created: ago(1), reason: 'fraudulent', status: 'needs_response' });
  const partRefund = refund({ id: 're_AcmePart', charge: 'ch_AcmePaid', amount: 500, created: ago(3), reason: 'requested_by_customer' });
  const note = creditNote({ id: 'cn_AcmeSent', number: 'ACME-0001-CN-01', customer: ACME, invoice: 'in_AcmeSent', amount: 1000, created: ago(4), effective_at: ago(4) });
  const oldCharge = charge({ id: 'ch_AcmeOld', customer: ACME, amount: 2900, created: ago(61), disputed: true });
  const wonDispute = dispute({ id: 'dp_AcmeWon', charge: 'ch_AcmeOld', amount: 2900, created: ago(60), reason: 'product_not_received', status: 'won' });

  const tanaka = customer({ id: TANAKA, name: 'Tanaka Kogyo KK', email: 'keiri@tanaka.example', currency: 'jpy', created: ago(200) });
  const tanakaSubs = [
    subscription({ id: 'sub_TanakaMonthly', customer: TANAKA, currency: 'jpy', quantity: 2, price: { unit_amount: 25000, currency: 'jpy', nickname: 'Pro (JPY)' } }),
    subscription({ id: 'sub_TanakaYearly', customer: TANAKA, currency: 'jpy', price: { unit_amount: 100014, currency: 'jpy', interval: 'year', nickname: 'Archive (JPY, annual)' } }),
  ];

  return [
    acme,
    ...subs,
    sent,
    retried,
    firstTry,
    secondTry,
    link,
    paid,
    paidCharge,
    paidLink,
    openDispute,
    partRefund,
    note,
    oldCharge,
    wonDispute,
    customer({ id: ACME_ROCKETS, name: 'ACME Rockets', email: 'ap@acme-rockets.example', created: ago(100) }),
    customer({ id: ACME_OLD, name: 'Acme Holdings', email: 'billing@acme.example', created: ago(900) }),
    tanaka,
    ...tanakaSubs,
    ...umbrellaFixtures(),
    customer({ id: SCRIPT, name: '<script>alert(1)</script> & Sons', email: 'x@script.example', created: ago(10) }),
    customer({ id: SCRIPT_TOO, name: '<script>&amp;</script> Holdings', email: 'y@script.example', created: ago(11) }),
  ];
}

/**
 * Umbrella Health (USD): the subscription states that change what MRR counts — canceling at period
 * end (still counts), paused (does not), collection paused (still counts), past due with a coupon
 * (counts, at list price), and a usage-based add-on (not counted).
 */
function umbrellaFixtures(): object[] {
  return [
    customer({ id: UMBRELLA, name: 'Umbrella Health', email: 'ap@umbrella.example', balance: 2500, created: ago(50) }),
    subscription({ id: 'sub_UmbrellaEnding', customer: UMBRELLA, cancel_at_period_end: true, price: { unit_amount: 10000, nickname: 'Team' } }),
    subscription({ id: 'sub_UmbrellaPaused', customer: UMBRELLA, status: 'paused', price: { unit_amount: 5000, nickname: 'Archive' } }),
    subscription({
      id: 'sub_UmbrellaHold',
      customer: UMBRELLA,
      pause_collection: { behavior: 'keep_as_draft', resumes_at: FIXTURE_NOW + 10 * DAY },
      price: { unit_amount: 2000, nickname: 'Seats' },
    }),
    subscription({ id: 'sub_UmbrellaLate', customer: UMBRELLA, status: 'past_due', discounts: [discount()], price: { unit_amount: 3000, nickname: 'Support' } }),
    subscription({
      id: 'sub_UmbrellaUsage',
      customer: UMBRELLA,
      price: {
        unit_amount: 5,
        nickname: 'API calls',
        recurring: { interval: 'month', interval_count: 1, meter: null, usage_type: 'metered', trial_period_days: null },
      },
    }),
  ];
}

export async function seedAccounts(db: Kysely<Database>): Promise<void> {
  await loadStripe(db, accountFixtures());
}
