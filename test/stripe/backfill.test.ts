/**
 * `billops stripe backfill` against the fake Stripe API with the real stripe-node client: several
 * pages per list, a 429 in the middle, an interrupted run that resumes, and a rerun that changes
 * nothing.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { BACKFILL_STEPS, BackfillInterruptedError, type BackfillProgress, runBackfill } from '../../src/stripe/index.js';
import { ManualClock } from '../../src/util/index.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { FakeStripe } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';
import { clearStripeTables, snapshotNormalized } from './helpers.js';

let fake: FakeStripe;
let t: TestDb;
const clock = new ManualClock('2026-11-01T12:00:00Z');
const actor = { kind: 'cli' as const, id: 'tester' };

beforeAll(async () => {
  [fake, t] = await Promise.all([FakeStripe.start(), createTestDb()]);
});
afterAll(async () => {
  await fake.close();
  await t.cleanup();
});
beforeEach(async () => {
  fake.reset();
  fx.resetFixtureIds();
  await clearStripeTables(t.db);
  await t.db.deleteFrom('stripe_backfill_cursors').execute();
  await t.db.deleteFrom('stripe_backfill_runs').execute();
});

const day = (n: number) => fx.unix('2026-10-01T00:00:00Z') + n * fx.DAY;

/** A small account: enough objects that every list takes several pages of 4. */
function seedAccount(): void {
  for (let i = 0; i < 9; i++) {
    const cus = fake.add('customers', fx.customer({ id: `cus_b${i}`, created: day(i) }));
    const status = i === 8 ? 'canceled' : i === 7 ? 'trialing' : 'active';
    fake.add('subscriptions', fx.subscription({ id: `sub_b${i}`, customer: cus.id, status, created: day(i) }));
    const { charge, balanceTransaction } = fx.chargeWithBalanceTransaction(
      { id: `ch_b${i}`, customer: cus.id, amount: 1000 + i, created: day(i) },
      { id: `txn_ch_b${i}` },
    );
    fake.add('charges', charge);
    fake.add('balance_transactions', balanceTransaction);
    fake.add('invoices', fx.invoice({ id: `in_b${i}`, customer: cus.id, subscription: `sub_b${i}`, status: i % 3 === 0 ? 'open' : 'paid', amount_due: 1000 + i, created: day(i) }));
  }
  // An EUR charge settled in USD.
  const eur = fx.chargeWithBalanceTransaction(
    { id: 'ch_eur', currency: 'eur', amount: 17900, created: day(10) },
    { id: 'txn_ch_eur', currency: 'usd', amount: 19432, fee: 788, exchange_rate: 1.0856 },
  );
  fake.add('charges', eur.charge);
  fake.add('balance_transactions', eur.balanceTransaction);
  fake.add('refunds', fx.refund({ id: 're_b1', charge: 'ch_b1', amount: 500, balance_transaction: 'txn_re_b1', created: day(11) }));
  fake.add('balance_transactions', fx.balanceTransaction({ id: 'txn_re_b1', type: 'refund', amount: -500, source: 're_b1', created: day(11) }));
  fake.add('disputes', fx.dispute({ id: 'dp_b2', charge: 'ch_b2', amount: 1002, created: day(12) }));
  fake.add('credit_notes', fx.creditNote({ id: 'cn_b3', invoice: 'in_b3', customer: 'cus_b3', amount: 300, created: day(12) }));
  fake.add('payouts', fx.payout({ id: 'po_b1', amount: 4000, balance_transaction: 'txn_po_b1', created: day(13) }));
  fake.add('balance_transactions', fx.balanceTransaction({ id: 'txn_po_b1', type: 'payout', amount: -4000, source: 'po_b1', created: day(13) }));
  fake.assignToPayout('po_b1', 'txn_ch_b0', 'txn_ch_b1', 'txn_ch_b2', 'txn_re_b1');
  fake.add('payouts', fx.payout({ id: 'po_b2', amount: 6000, balance_transaction: 'txn_po_b2', created: day(14), status: 'in_transit' }));
  fake.add('balance_transactions', fx.balanceTransaction({ id: 'txn_po_b2', type: 'payout', amount: -6000, source: 'po_b2', created: day(14) }));
  fake.assignToPayout('po_b2', 'txn_ch_b3', 'txn_ch_b4', 'txn_ch_eur');
}

async function ids(table: 'stripe_customers' | 'stripe_subscriptions' | 'stripe_invoices' | 'stripe_charges' | 'stripe_refunds' | 'stripe_disputes' | 'stripe_credit_notes' | 'stripe_payouts' | 'stripe_balance_transactions') {
  return (await t.db.selectFrom(table).select('id').orderBy('id').execute()).map((r) => r.id);
}

function fakeIds(resource: 'customers' | 'subscriptions' | 'invoices' | 'charges' | 'refunds' | 'disputes' | 'credit_notes' | 'payouts' | 'balance_transactions') {
  return fake.all(resource).map((o) => o.id).sort();
}

async function expectExactlyTheFakesObjects(): Promise<void> {
  expect(await ids('stripe_customers')).toEqual(fakeIds('customers'));
  expect(await ids('stripe_subscriptions')).toEqual(fakeIds('subscriptions'));
  expect(await ids('stripe_invoices')).toEqual(fakeIds('invoices'));
  expect(await ids('stripe_charges')).toEqual(fakeIds('charges'));
  expect(await ids('stripe_refunds')).toEqual(fakeIds('refunds'));
  expect(await ids('stripe_disputes')).toEqual(fakeIds('disputes'));
  expect(await ids('stripe_credit_notes')).toEqual(fakeIds('credit_notes'));
  expect(await ids('stripe_payouts')).toEqual(fakeIds('payouts'));
  expect(await ids('stripe_balance_transactions')).toEqual(fakeIds('balance_transactions'));
  // Field by field for the money: what Stripe holds is what billops holds.
  for (const txn of fake.all('balance_transactions')) {
    const row = await t.db.selectFrom('stripe_balance_transactions').selectAll().where('id', '=', txn.id).executeTakeFirstOrThrow();
    expect({ amount: row.amount, fee: row.fee, net: row.net, currency: row.currency, source_id: row.source_id }).toEqual({
      amount: BigInt(txn.amount),
      fee: BigInt(txn.fee),
      net: BigInt(txn.net),
      currency: txn.currency.toUpperCase(),
      source_id: txn.source,
    });
  }
  for (const inv of fake.all('invoices')) {
    const row = await t.db.selectFrom('stripe_invoices').select(['status', 'amount_due', 'number', 'subscription_id']).where('id', '=', inv.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ status: inv.status, amount_due: BigInt(inv.amount_due), number: inv.number, subscription_id: inv.parent?.subscription_details?.subscription });
  }
}

describe('stripe backfill', () => {
  it('pages through every list, waits out a 429, resumes an interrupted run, and ends with exactly the fake’s objects', async () => {
    seedAccount();
    const stripe = fake.client({ maxNetworkRetries: 2 });
    const abort = new AbortController();
    const seen: BackfillProgress[] = [];
    let invoicePages = 0;
    const onProgress = (p: BackfillProgress) => {
      seen.push(p);
      // A 429 in the middle of the customer list (after its first page).
      if (p.step === 'customers' && p.fetched === 4 && !p.stepDone) fake.rateLimitNext({ path: '/v1/customers' });
      // The operator presses Ctrl-C during the invoices, after two pages.
      if (p.step === 'invoices' && !p.stepDone && p.fetched > 0 && ++invoicePages === 2) abort.abort();
    };

    const first = runBackfill({ db: t.db, stripe, actor, clock, pageSize: 4, rateLimitBaseMs: 5, signal: abort.signal, onProgress });
    const err = await first.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackfillInterruptedError);
    expect((err as BackfillInterruptedError).message).toMatch(/stopped during invoices: interrupted\. Run it again to resume/);

    // stripe-node did not retry the 429 (maxNetworkRetries only covers 409/5xx); the backfill did.
    const customerCalls = fake.requests.filter((r) => r.path === '/v1/customers');
    expect(customerCalls.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    expect(customerCalls[1]?.query.starting_after).toBe(customerCalls[2]?.query.starting_after);
    expect(await ids('stripe_customers')).toEqual(fakeIds('customers'));
    expect(await ids('stripe_invoices')).toHaveLength(8);
    const cursor = await t.db.selectFrom('stripe_backfill_cursors').selectAll().where('resource', '=', 'invoices').executeTakeFirstOrThrow();
    expect(cursor).toMatchObject({ done: false, fetched: 8n });

    // The rerun resumes: customers and subscriptions are not listed again, invoices continue after the cursor.
    fake.requests.length = 0;
    clock.advance(60_000);
    const resumed = await runBackfill({ db: t.db, stripe, actor, clock, pageSize: 4, rateLimitBaseMs: 5 });
    expect(resumed.resumed).toBe(true);
    expect(fake.requests.some((r) => r.path === '/v1/customers' || r.path === '/v1/subscriptions')).toBe(false);
    expect(fake.requests.find((r) => r.path === '/v1/invoices')?.query.starting_after).toBe(cursor.starting_after);
    expect(resumed.steps.invoices).toEqual({ fetched: 9, changed: 9 });

    await expectExactlyTheFakesObjects();
    // Fees and FX of the EUR charge, the payout each transaction went out in.
    const eur = await t.db.selectFrom('stripe_balance_transactions').selectAll().where('id', '=', 'txn_ch_eur').executeTakeFirstOrThrow();
    expect(eur).toMatchObject({ amount: 19432n, fee: 788n, net: 18644n, currency: 'USD', exchange_rate: '1.0856', source_id: 'ch_eur', source_type: 'charge', payout_id: 'po_b2' });
    const members = await t.db.selectFrom('stripe_balance_transactions').select(['id', 'payout_id']).where('payout_id', 'is not', null).orderBy('id').execute();
    expect(members).toEqual([
      { id: 'txn_ch_b0', payout_id: 'po_b1' },
      { id: 'txn_ch_b1', payout_id: 'po_b1' },
      { id: 'txn_ch_b2', payout_id: 'po_b1' },
      { id: 'txn_ch_b3', payout_id: 'po_b2' },
      { id: 'txn_ch_b4', payout_id: 'po_b2' },
      { id: 'txn_ch_eur', payout_id: 'po_b2' },
      { id: 'txn_po_b1', payout_id: 'po_b1' },
      { id: 'txn_po_b2', payout_id: 'po_b2' },
      { id: 'txn_re_b1', payout_id: 'po_b1' },
    ]);
    expect(await t.db.selectFrom('stripe_subscriptions').select('status').where('id', '=', 'sub_b8').executeTakeFirst()).toEqual({ status: 'canceled' });
    expect(seen.filter((p) => p.stepDone).map((p) => p.step)).toEqual([...BACKFILL_STEPS.slice(0, 2)]);

    const audit = await listAudit(t.db, { entity: { type: 'stripe_backfill_run' } });
    expect(audit.map((a) => a.action)).toEqual(['stripe.backfill.interrupted', 'stripe.backfill.completed']);

    // A rerun from scratch fetches everything again and changes nothing.
    const before = await snapshotNormalized(t.db);
    clock.advance(60_000);
    const rerun = await runBackfill({ db: t.db, stripe, actor, clock, pageSize: 4 });
    expect(rerun.resumed).toBe(false);
    expect(Object.values(rerun.steps).reduce((s, c) => s + c.changed, 0)).toBe(0);
    expect(rerun.steps.customers).toEqual({ fetched: 9, changed: 0 });
    expect(await snapshotNormalized(t.db)).toEqual(before);
    // The rows say the data last changed when the first run wrote it, not at the rerun.
    const changedAt = await t.db.selectFrom('stripe_customers').select('changed_at').distinct().execute();
    expect(changedAt.map((r) => r.changed_at.toISOString())).toEqual(['2026-11-01T12:00:00.000Z']);
  });

  it('stops (resumably) after too many 429s in a row, and does not touch objects created before --since', async () => {
    seedAccount();
    const stripe = fake.client();
    fake.rateLimitNext({ path: '/v1/customers', times: 3 });
    const err = await runBackfill({ db: t.db, stripe, actor, clock, pageSize: 4, rateLimitRetries: 2, rateLimitBaseMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackfillInterruptedError);
    expect((err as Error).message).toMatch(/customers: Stripe still answered 429 \(rate limited\) after 2 waits/);
    expect(fake.requests.filter((r) => r.status === 429)).toHaveLength(3);

    // A new window starts a new run; only objects created on or after Oct 8 are fetched.
    const res = await runBackfill({ db: t.db, stripe, actor, clock, pageSize: 4, since: new Date('2026-10-08T00:00:00Z') });
    expect(res.resumed).toBe(false);
    expect(await ids('stripe_customers')).toEqual(['cus_b7', 'cus_b8']);
    expect(fake.requests.find((r) => r.path === '/v1/charges')?.query.created).toEqual({ gte: String(day(7)) });
  });

  it('writes a backfilled object as the newest state: an older webhook event arriving later changes nothing', async () => {
    fake.add('invoices', fx.invoice({ id: 'in_x', status: 'paid', amount_due: 700 }));
    await runBackfill({ db: t.db, stripe: fake.client(), actor, clock, pageSize: 10 });
    const { processStripeEvent } = await import('../../src/stripe/index.js');
    const older = fx.toWire(fx.event('invoice.finalized', fx.invoice({ id: 'in_x', status: 'open', amount_due: 700 }), { created: Math.floor(clock.now().getTime() / 1000) - 3600 }));
    const out = await processStripeEvent(t.db, older, clock.now());
    expect(out.note).toBe('invoice in_x: stale');
    expect(await t.db.selectFrom('stripe_invoices').select('status').executeTakeFirst()).toEqual({ status: 'paid' });
    expect(Stripe.API_VERSION).toBe('2026-10-28.endive');
  });
});
