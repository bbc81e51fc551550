/**
 * The demo month's Stripe data, loaded by the demo step through the real paths (backfill
 * normalization, event store + queue worker, report import): each story ends in the state a finance
 * person would expect, and the dataset is the same on every call (later demo steps rely on its ids).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripeDemoStep } from '../../src/cli/demo/stripe.js';
import { demoBalanceReportCsv, demoId, demoStripeDataset } from '../../src/stripe/index.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';

let t: TestDb;
let dir: string;
const said: string[] = [];

beforeAll(async () => {
  t = await createTestDb();
  dir = mkdtempSync(path.join(tmpdir(), 'billops-demo-stripe-'));
  await stripeDemoStep({ db: t, config: testConfig(), clock: new ManualClock('2026-10-31T23:00:00Z'), logger: silentLogger, dir, say: (s = '') => said.push(s) });
});
afterAll(async () => {
  await t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const inv = (number: string) => t.db.selectFrom('stripe_invoices').selectAll().where('number', '=', number).executeTakeFirstOrThrow();

describe('the demo month of Stripe data', () => {
  it('is deterministic, with stable, readable ids', () => {
    const a = demoStripeDataset();
    expect(JSON.stringify(demoStripeDataset())).toBe(JSON.stringify(a));
    expect(demoBalanceReportCsv(demoStripeDataset())).toBe(demoBalanceReportCsv(a));
    expect(a.customers).toHaveLength(46);
    expect(a.customers.filter((c) => c.currency === 'eur')).toHaveLength(4);
    expect(a.customers.filter((c) => c.currency === 'jpy')).toHaveLength(2);
    expect(a.events[0]).toMatchObject({ id: 'evt_demo0000000001', object: 'event' });
    expect(demoId('in', 7)).toBe('in_demo0000000007');
  });

  it('is applied by the worker without a failure, and the demo prints counts and totals per table', async () => {
    const events = await t.db.selectFrom('stripe_events').select(['status']).distinct().execute();
    expect(events).toEqual([{ status: 'processed' }]);
    const text = said.join('\n');
    expect(text).toMatch(/256 webhook events stored and processed by the queue worker/);
    expect(text).toMatch(/every row agrees with the balance transaction fetched from the API/);
    expect(text).toMatch(/customers\s+46\s+USD 40 · EUR 4 · JPY 2/);
    expect(text).toMatch(/payouts\s+3\s+paid 3: \$/);
  });

  it('has each story in the state it should end in', async () => {
    // Paid renewals: invoice, charge, payment link and balance transaction agree.
    const paid = await inv('DEMO-0001');
    expect(paid).toMatchObject({ id: 'in_demo0000000001', status: 'paid', amount_paid: 4900n, customer_name: 'Ember Health' });
    const charge = await t.db.selectFrom('stripe_charges').selectAll().where('id', '=', 'ch_demo0000000001').executeTakeFirstOrThrow();
    expect(charge).toMatchObject({ status: 'succeeded', amount: 4900n, balance_transaction_id: 'txn_demo0000000001', payment_intent_id: 'pi_demo0000000001' });
    expect(await t.db.selectFrom('stripe_invoice_payments').select(['invoice_id', 'payment_intent_id']).where('id', '=', 'inpay_demo0000000001').executeTakeFirst()).toEqual({
      invoice_id: 'in_demo0000000001',
      payment_intent_id: 'pi_demo0000000001',
    });

    // The prorated upgrade: two proration lines over the rest of the period.
    const upgrade = await t.db.selectFrom('stripe_invoices').selectAll().where('billing_reason', '=', 'subscription_update').executeTakeFirstOrThrow();
    const lines = await t.db.selectFrom('stripe_invoice_lines').selectAll().where('invoice_id', '=', upgrade.id).orderBy('amount').execute();
    expect(lines.map((l) => [l.amount < 0n, l.proration, l.period_start?.toISOString(), l.period_end?.toISOString()])).toEqual([
      [true, true, '2026-10-16T14:05:00.000Z', '2026-11-01T08:35:00.000Z'],
      [false, true, '2026-10-16T14:05:00.000Z', '2026-11-01T08:35:00.000Z'],
    ]);
    expect(upgrade.total).toBe(lines.reduce((s, l) => s + l.amount, 0n));
    expect(await t.db.selectFrom('stripe_subscriptions').select(['price_id', 'unit_amount']).where('id', '=', 'sub_demo0000000005').executeTakeFirst()).toEqual({
      price_id: 'price_demoProMonthly',
      unit_amount: 19900n,
    });

    // Past due: three declined attempts, the next one scheduled; the subscription is past_due.
    const pastDue = await t.db.selectFrom('stripe_invoices').selectAll().where('customer_id', '=', demoId('cus', 22)).executeTakeFirstOrThrow();
    expect(pastDue).toMatchObject({ status: 'open', attempt_count: 3, amount_remaining: 19900n });
    expect(pastDue.next_payment_attempt?.toISOString()).toBe('2026-11-03T09:34:00.000Z');
    expect(await t.db.selectFrom('stripe_subscriptions').select('status').where('id', '=', demoId('sub', 22)).executeTakeFirst()).toEqual({ status: 'past_due' });

    // Written off, subscription canceled; voided; send_invoice overdue.
    expect(await t.db.selectFrom('stripe_invoices').select(['status', 'attempt_count']).where('customer_id', '=', demoId('cus', 27)).executeTakeFirst()).toEqual({ status: 'uncollectible', attempt_count: 4 });
    expect(await t.db.selectFrom('stripe_subscriptions').select('status').where('id', '=', demoId('sub', 27)).executeTakeFirst()).toEqual({ status: 'canceled' });
    expect(await t.db.selectFrom('stripe_invoices').select(['status', 'total']).where('status', '=', 'void').execute()).toEqual([{ status: 'void', total: 25000n }]);
    const overdue = await t.db.selectFrom('stripe_invoices').selectAll().where('customer_id', '=', demoId('cus', 35)).executeTakeFirstOrThrow();
    expect(overdue).toMatchObject({ status: 'open', collection_method: 'send_invoice', attempt_count: 0 });
    expect(overdue.overdue_at).not.toBeNull();

    // The trial ends on 3 Nov.
    const trial = await t.db.selectFrom('stripe_subscriptions').selectAll().where('id', '=', demoId('sub', 39)).executeTakeFirstOrThrow();
    expect(trial.status).toBe('trialing');
    expect(trial.trial_end?.toISOString()).toBe('2026-11-03T10:39:00.000Z');

    // An EUR charge settled in USD with its exchange rate, exact.
    const eur = await t.db.selectFrom('stripe_balance_transactions').selectAll().where('exchange_rate', '=', '1.0856').executeTakeFirstOrThrow();
    expect(eur).toMatchObject({ currency: 'USD', amount: 19432n, fee: 788n, net: 18644n, source_type: 'charge' });
    const eurCharge = await t.db.selectFrom('stripe_charges').select(['currency', 'amount']).where('id', '=', eur.source_id as string).executeTakeFirst();
    expect(eurCharge).toEqual({ currency: 'EUR', amount: 17900n });

    // Refund, open dispute (funds withdrawn with the fee), credit note to the customer's balance.
    expect(await t.db.selectFrom('stripe_refunds').select(['amount', 'status', 'balance_transaction_id']).executeTakeFirst()).toEqual({ amount: 2000n, status: 'succeeded', balance_transaction_id: 'txn_demo0000000801' });
    expect(await t.db.selectFrom('stripe_disputes').select(['status', 'amount', 'balance_transaction_ids']).executeTakeFirst()).toEqual({ status: 'needs_response', amount: 19900n, balance_transaction_ids: ['txn_demo0000000901'] });
    expect(await t.db.selectFrom('stripe_balance_transactions').select(['net', 'reporting_category']).where('id', '=', 'txn_demo0000000901').executeTakeFirst()).toEqual({ net: -21400n, reporting_category: 'dispute' });
    expect(await t.db.selectFrom('stripe_credit_notes').select(['amount', 'type', 'status']).executeTakeFirst()).toEqual({ amount: 1000n, type: 'post_payment', status: 'issued' });
    expect(await t.db.selectFrom('stripe_customers').select('balance').where('id', '=', demoId('cus', 3)).executeTakeFirst()).toEqual({ balance: -1000n });

    // Each payout is the sum of the balance transactions it paid out.
    const payouts = await t.db.selectFrom('stripe_payouts').select(['id', 'amount', 'status']).orderBy('id').execute();
    expect(payouts).toHaveLength(3);
    for (const p of payouts) {
      const members = await t.db.selectFrom('stripe_balance_transactions').select(['net', 'type']).where('payout_id', '=', p.id).execute();
      expect(members.filter((m) => m.type !== 'payout').reduce((s, m) => s + m.net, 0n)).toBe(p.amount);
      expect(p.status).toBe('paid');
    }
  });
});
