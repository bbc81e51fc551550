/**
 * POST /stripe/webhook driven the way Stripe drives it: bodies signed by the real stripe library,
 * delivered over HTTP to the running app, then normalized by the queue worker.
 */
import Stripe from 'stripe';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_WEBHOOK_SECRET } from '../support/config.js';
import { signWebhook } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';
import { type WebhookHarness, clearStripeTables, countRows, snapshotNormalized, startWebhookHarness } from './helpers.js';

let h: WebhookHarness;

beforeAll(async () => {
  h = await startWebhookHarness();
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await clearStripeTables(h.db.db);
  fx.resetFixtureIds();
});

describe('a correctly signed event', () => {
  it('is stored before the answer and normalized by the worker', async () => {
    const cus = fx.customer({ id: 'cus_A', email: 'ap@acme.example', name: 'Acme' });
    const inv = fx.invoice({
      id: 'in_A',
      customer: cus.id,
      status: 'open',
      subscription: 'sub_A',
      amount_due: 4900,
      collection_method: 'charge_automatically',
      attempt_count: 2,
      next_payment_attempt: fx.FIXTURE_NOW + 3 * fx.DAY,
    });
    const evt = fx.event('invoice.payment_failed', inv, { id: 'evt_A' });

    const res = await h.post(evt);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ received: true });

    const stored = await h.db.db.selectFrom('stripe_events').selectAll().where('id', '=', 'evt_A').executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ type: 'invoice.payment_failed', status: 'pending', attempts: 0, livemode: false, api_version: Stripe.API_VERSION });
    expect(stored.payload).toEqual(fx.toWire(evt));
    expect(await countRows(h.db.db, 'stripe_invoices')).toBe(0);

    const stats = await h.worker().drain();
    expect(stats.processed).toBe(1);
    const row = await h.db.db.selectFrom('stripe_invoices').selectAll().where('id', '=', 'in_A').executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      number: inv.number,
      customer_id: 'cus_A',
      subscription_id: 'sub_A',
      status: 'open',
      currency: 'USD',
      amount_due: 4900n,
      amount_paid: 0n,
      amount_remaining: 4900n,
      attempt_count: 2,
      collection_method: 'charge_automatically',
      version_event_id: 'evt_A',
    });
    expect(row.next_payment_attempt?.toISOString()).toBe(new Date((fx.FIXTURE_NOW + 3 * fx.DAY) * 1000).toISOString());
    const lines = await h.db.db.selectFrom('stripe_invoice_lines').selectAll().where('invoice_id', '=', 'in_A').execute();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ amount: 4900n, proration: false, subscription_id: 'sub_A', line_type: 'subscription' });
    const done = await h.db.db.selectFrom('stripe_events').select(['status', 'attempts', 'note']).where('id', '=', 'evt_A').executeTakeFirstOrThrow();
    expect(done).toEqual({ status: 'processed', attempts: 1, note: 'invoice in_A: inserted' });
  });

  it('keeps an unknown event type and marks it ignored', async () => {
    const evt = { ...fx.event('customer.created', fx.customer()), type: 'product.created', data: { object: { id: 'prod_1', object: 'product' } } };
    expect((await h.post(evt)).status).toBe(200);
    await h.worker().drain();
    const row = await h.db.db.selectFrom('stripe_events').select(['status', 'note']).where('id', '=', evt.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('ignored');
    expect(row.note).toContain('product.created');
  });
});

describe('a request that is not a genuine Stripe event', () => {
  it('with a bad signature, a changed body or no signature: 400 and nothing stored', async () => {
    const evt = fx.event('customer.created', fx.customer());
    const payload = JSON.stringify(evt);
    const wrongSecret = await h.post(evt, { signature: signWebhook(payload, 'whsec_not_the_secret') });
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body).toMatch(/signature verification failed/);

    const tampered = await h.post(payload.replace('"livemode":false', '"livemode":true'), { signature: signWebhook(payload, TEST_WEBHOOK_SECRET) });
    expect(tampered.status).toBe(400);

    const unsigned = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    expect(unsigned.status).toBe(400);
    expect(await unsigned.text()).toMatch(/missing Stripe-Signature/);

    expect(await countRows(h.db.db, 'stripe_events')).toBe(0);
  });

  it('signed with a timestamp outside the tolerance (too old or too far ahead): 400 and nothing stored', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = await h.post(fx.event('customer.created', fx.customer()), { timestamp: now - 301 });
    expect(old.status).toBe(400);
    expect(old.body).toMatch(/tolerance/);
    const ahead = await h.post(fx.event('customer.created', fx.customer()), { timestamp: now + 400 });
    expect(ahead.status).toBe(400);
    const justInside = await h.post(fx.event('customer.created', fx.customer()), { timestamp: now - 250 });
    expect(justInside.status).toBe(200);
    expect(await countRows(h.db.db, 'stripe_events')).toBe(1);
  });

  it('with a correctly signed body that is not JSON, or not an event: 400 and nothing stored', async () => {
    const malformed = await h.post('{"id": "evt_broken", "type": "customer.created", ');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body)).toEqual({ error: 'body is not valid JSON' });
    const notEvent = await h.post({ id: 'cus_1', object: 'customer' });
    expect(notEvent.status).toBe(400);
    expect(notEvent.body).toMatch(/not a Stripe event/);
    expect(await countRows(h.db.db, 'stripe_events')).toBe(0);
  });
});

describe('a repeated delivery', () => {
  it('is answered 2xx, stored once and normalized once, also when copies arrive at the same moment', async () => {
    const evt = fx.event('charge.succeeded', fx.charge({ id: 'ch_dup', amount: 1500 }), { id: 'evt_dup' });
    const first = await h.post(evt);
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => h.post(evt)));
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ received: true });
    for (const r of concurrent) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual({ received: true, duplicate: true });
    }
    expect(await countRows(h.db.db, 'stripe_events')).toBe(1);

    const worker = h.worker();
    await worker.drain();
    expect(worker.stats.processed).toBe(1);
    const processedAt = (await h.db.db.selectFrom('stripe_events').select('processed_at').executeTakeFirstOrThrow()).processed_at;

    // Stripe retries a delivery it thinks failed, long after billops processed it.
    const late = await h.post(evt);
    expect(JSON.parse(late.body)).toEqual({ received: true, duplicate: true });
    await worker.drain();
    expect(worker.stats.processed).toBe(1);
    const row = await h.db.db.selectFrom('stripe_events').select(['attempts', 'processed_at', 'status']).executeTakeFirstOrThrow();
    expect(row).toEqual({ attempts: 1, processed_at: processedAt, status: 'processed' });
    expect(await countRows(h.db.db, 'stripe_charges')).toBe(1);
  });
});

describe('out-of-order delivery', () => {
  /**
   * One customer's month as Stripe emits it, oldest first. Several events share a second (finalize
   * and the first failed attempt; the paid invoice and its charge), as they do in real accounts.
   */
  function lifecycle(): Stripe.Event[] {
    const t0 = fx.unix('2026-10-01T10:00:00Z');
    const cus = fx.customer({ id: 'cus_L', email: 'old@l.example', name: 'L Corp', created: t0 });
    const sub = fx.subscription({ id: 'sub_L', customer: 'cus_L', status: 'incomplete', created: t0, price: { id: 'price_L', unit_amount: 9900 } });
    const draft = fx.invoice({ id: 'in_L', customer: 'cus_L', subscription: 'sub_L', status: 'draft', amount_due: 9900, created: t0 });
    const open0 = { ...draft, status: 'open' as const, number: 'L-0001', attempt_count: 0, attempted: false, status_transitions: { ...draft.status_transitions, finalized_at: t0 + 60 } };
    const open1 = { ...open0, attempt_count: 1, attempted: true, next_payment_attempt: t0 + 3 * fx.DAY };
    const paid = {
      ...open1,
      status: 'paid' as const,
      attempt_count: 2,
      amount_paid: 9900,
      amount_remaining: 0,
      next_payment_attempt: null,
      status_transitions: { ...open1.status_transitions, paid_at: t0 + 3 * fx.DAY },
    };
    const failed = fx.charge({ id: 'ch_L1', customer: 'cus_L', amount: 9900, status: 'failed', created: t0 + 60 });
    const ok = fx.charge({ id: 'ch_L2', customer: 'cus_L', amount: 9900, created: t0 + 3 * fx.DAY });
    const refunded = { ...ok, amount_refunded: 2000, refunded: false };
    return [
      fx.event('customer.created', cus, { id: 'evt_L01', created: t0 }),
      fx.event('customer.subscription.created', sub, { id: 'evt_L02', created: t0 }),
      fx.event('invoice.created', draft, { id: 'evt_L03', created: t0 }),
      fx.event('invoice.finalized', open0, { id: 'evt_L04', created: t0 + 60 }),
      fx.event('invoice.payment_failed', open1, { id: 'evt_L05', created: t0 + 60 }),
      fx.event('charge.failed', failed, { id: 'evt_L06', created: t0 + 60 }),
      fx.event('customer.subscription.updated', { ...sub, status: 'past_due' }, { id: 'evt_L07', created: t0 + 61 }),
      fx.event('customer.updated', { ...cus, email: 'ap@l.example' }, { id: 'evt_L08', created: t0 + 2 * fx.DAY }),
      fx.event('invoice.paid', paid, { id: 'evt_L09', created: t0 + 3 * fx.DAY }),
      fx.event('charge.succeeded', ok, { id: 'evt_L10', created: t0 + 3 * fx.DAY }),
      fx.event('customer.subscription.updated', { ...sub, status: 'active' }, { id: 'evt_L11', created: t0 + 3 * fx.DAY }),
      fx.event('charge.refunded', refunded, { id: 'evt_L12', created: t0 + 5 * fx.DAY }),
      fx.event('invoice.overdue', open1, { id: 'evt_L13', created: t0 + 2 * fx.DAY }),
      // Four more invoices whose last word is a finalize and a failed attempt in the same second:
      // the attempt must win whichever comes first (by status and attempt count, not by luck).
      ...['M1', 'M2', 'M3', 'M4'].flatMap((n, i) => {
        const fin = fx.invoice({ id: `in_${n}`, customer: 'cus_L', status: 'open', attempt_count: 0, attempted: false, amount_due: 1000 + i, created: t0 });
        const att = { ...fin, attempt_count: 1, attempted: true, next_payment_attempt: t0 + fx.DAY };
        return [
          fx.event('invoice.finalized', fin, { id: `evt_${n}a`, created: t0 + 120 }),
          fx.event('invoice.payment_failed', att, { id: `evt_${n}b`, created: t0 + 120 }),
        ];
      }),
    ] as Stripe.Event[];
  }

  async function deliverInOrder(events: readonly Stripe.Event[]): Promise<Record<string, unknown[]>> {
    await clearStripeTables(h.db.db);
    const worker = h.worker();
    for (const e of events) {
      expect((await h.post(e)).status).toBe(200);
      // Apply each event before the next arrives, so the tables see exactly this order.
      await worker.drain();
    }
    return snapshotNormalized(h.db.db, { keepVersion: true });
  }

  it('newest-first, shuffled and oldest-first end in the same, newest state', async () => {
    const events = lifecycle();
    const oldestFirst = await deliverInOrder(events);
    const newestFirst = await deliverInOrder([...events].reverse());
    // A fixed interleaving: every other event, then the rest backwards.
    const shuffled = await deliverInOrder([...events.filter((_, i) => i % 2 === 1), ...events.filter((_, i) => i % 2 === 0).reverse()]);

    // All delivered before the worker runs: applied as one batch, set-based.
    await clearStripeTables(h.db.db);
    for (const e of [...events].reverse()) expect((await h.post(e)).status).toBe(200);
    await h.worker({ batchSize: 100 }).drain();
    const oneBatch = await snapshotNormalized(h.db.db, { keepVersion: true });

    expect(newestFirst).toEqual(oldestFirst);
    expect(shuffled).toEqual(oldestFirst);
    expect(oneBatch).toEqual(oldestFirst);
    const superseded = await sql<{ n: string }>`select count(*)::text as n from stripe_events where note like '%superseded by a newer event in the same batch'`.execute(h.db.db);
    expect(Number(superseded.rows[0]?.n)).toBeGreaterThan(0);
    // …and that state is the newest one, not merely a consistent one.
    expect(oldestFirst.stripe_customers?.[0]).toMatchObject({ email: 'ap@l.example' });
    expect(oldestFirst.stripe_subscriptions?.[0]).toMatchObject({ status: 'active', version_event_id: 'evt_L11' });
    expect(oldestFirst.stripe_invoices?.[0]).toMatchObject({ status: 'paid', attempt_count: 2, amount_paid: 9900n, number: 'L-0001' });
    expect((oldestFirst.stripe_invoices?.[0] as { overdue_at: Date }).overdue_at.toISOString()).toBe('2026-10-03T10:00:00.000Z');
    expect(oldestFirst.stripe_invoices?.slice(1)).toMatchObject(Array.from({ length: 4 }, () => ({ status: 'open', attempt_count: 1 })));
    expect(oldestFirst.stripe_charges).toMatchObject([
      { id: 'ch_L1', status: 'failed' },
      { id: 'ch_L2', status: 'succeeded', amount_refunded: 2000n },
    ]);
  });

  it('an older event arriving after a newer one is recorded as processed but changes nothing', async () => {
    const events = lifecycle();
    await deliverInOrder([events[8] as Stripe.Event]); // invoice.paid
    const before = await snapshotNormalized(h.db.db, { keepVersion: true });
    expect((await h.post(events[3] as Stripe.Event)).status).toBe(200); // invoice.finalized, older
    await h.worker().drain();
    expect(await snapshotNormalized(h.db.db, { keepVersion: true })).toEqual(before);
    const row = await sql<{ note: string }>`select note from stripe_events where id = 'evt_L04'`.execute(h.db.db);
    expect(row.rows[0]?.note).toBe('invoice in_L: stale');
  });
});
