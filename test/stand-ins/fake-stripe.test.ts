/**
 * The fake Stripe API, exercised with the real stripe-node client: if these pass, code under test
 * that talks to the fake sees what it would see from Stripe (encoding, retries, timeouts,
 * idempotency, errors, pagination, webhook signatures).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeForm, FakeStripe, postWebhook, signWebhook } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';

let fake: FakeStripe;

beforeAll(async () => {
  fake = await FakeStripe.start();
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  fx.resetFixtureIds();
});

/** Rejection of `promise`, failing the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(Stripe.errors.StripeError);
    return err as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

function seedCustomer(overrides: Partial<Stripe.Customer> = {}): Stripe.Customer {
  return fake.add('customers', fx.customer(overrides));
}

function creditsFor(customerId: string): number {
  return fake.writes.filter((w) => w.path === `/v1/customers/${customerId}/balance_transactions`).length;
}

describe('decodeForm', () => {
  it('decodes brackets into nested objects and indexed or appended keys into arrays', () => {
    expect(
      decodeForm('amount=-500&currency=usd&metadata[action_id]=act_1&expand[0]=customer&expand[1]=invoice&a[b][c]=d'),
    ).toEqual({
      amount: '-500',
      currency: 'usd',
      metadata: { action_id: 'act_1' },
      expand: ['customer', 'invoice'],
      a: { b: { c: 'd' } },
    });
    expect(decodeForm('expand[]=data.source&expand[]=data.customer')).toEqual({ expand: ['data.source', 'data.customer'] });
    expect(decodeForm('items[0][price]=p1&items[0][quantity]=2&items[1][price]=p2')).toEqual({
      items: [{ price: 'p1', quantity: '2' }, { price: 'p2' }],
    });
  });

  it('keeps numeric metadata keys as keys, empty values as "unset", and decodes percent-escapes', () => {
    expect(decodeForm('metadata[0]=zero&metadata[1]=one')).toEqual({ metadata: { '0': 'zero', '1': 'one' } });
    expect(decodeForm('pause_collection=&description=A%20%26%20B%2B')).toEqual({ pause_collection: '', description: 'A & B+' });
    expect(decodeForm('?created%5Bgte%5D=10')).toEqual({ created: { gte: '10' } });
  });

  it('ignores prototype-polluting keys', () => {
    const decoded = decodeForm('__proto__[polluted]=yes&a[constructor][x]=1&ok=1');
    expect(decoded).toEqual({ ok: '1' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('fixtures', () => {
  it('are deterministic after a reset and shaped like Stripe objects', () => {
    const c = fx.customer();
    expect(c.id).toBe('cus_fake0000000001');
    expect(fx.customer().id).toBe('cus_fake0000000002');
    fx.resetFixtureIds();
    expect(fx.customer().id).toBe('cus_fake0000000001');
    expect(c).toMatchObject({ object: 'customer', livemode: false, balance: 0, created: fx.FIXTURE_NOW, discount: null });
  });

  it('derive invoice amounts, number and timestamps from the status unless overridden', () => {
    const paid = fx.invoice({ status: 'paid', amount_due: 4900, subscription: 'sub_1' });
    expect(paid).toMatchObject({ amount_due: 4900, amount_paid: 4900, amount_remaining: 0, billing_reason: 'subscription_cycle' });
    expect(paid.number).toMatch(/^ABC-\d{4}$/);
    expect(paid.status_transitions.paid_at).toBe(paid.created);
    expect(paid.parent?.subscription_details?.subscription).toBe('sub_1');
    expect(paid.lines.data[0]).toMatchObject({ amount: 4900, invoice: paid.id, object: 'line_item' });
    expect(paid.lines.data[0]?.parent?.subscription_item_details?.proration).toBe(false);

    const draft = fx.invoice({ status: 'draft' });
    expect(draft.number).toBeNull();
    expect(draft.status_transitions.finalized_at).toBeNull();

    const sent = fx.invoice({ collection_method: 'send_invoice', amount_paid: 500, amount_due: 2000 });
    expect(sent).toMatchObject({ amount_remaining: 1500, due_date: sent.created + 30 * fx.DAY, next_payment_attempt: null });
  });

  it('keep balance-transaction net = amount - fee and link a charge to its transaction', () => {
    const { charge, balanceTransaction } = fx.chargeWithBalanceTransaction({ amount: 10_000 });
    expect(charge.balance_transaction).toBe(balanceTransaction.id);
    expect(balanceTransaction).toMatchObject({ source: charge.id, amount: 10_000, fee: 320, net: 9680, type: 'charge' });
    expect(balanceTransaction.fee_details).toEqual([
      { amount: 320, application: null, currency: 'usd', description: 'Stripe processing fees', type: 'stripe_fee' },
    ]);
    const failed = fx.charge({ status: 'failed' });
    expect(failed).toMatchObject({ paid: false, balance_transaction: null, failure_code: 'card_declined' });
  });

  it('serialise decimal fields to the wire strings Stripe sends', () => {
    const wire = fx.toWire(fx.subscription({ price: { unit_amount: 4900, interval: 'year' } }));
    const item = wire.items.data[0];
    expect(item?.price.unit_amount_decimal).toBe('4900');
    expect(item?.price.recurring).toMatchObject({ interval: 'year', interval_count: 1 });
    expect((item?.current_period_end ?? 0) - (item?.current_period_start ?? 0)).toBe(365 * fx.DAY);
  });

  it('wrap an object in an Event envelope', () => {
    const sub = fx.subscription({ status: 'past_due' });
    const evt = fx.event('customer.subscription.updated', sub, { previousAttributes: { status: 'active' }, created: 1_800_000_000 });
    expect(evt).toMatchObject({
      object: 'event',
      type: 'customer.subscription.updated',
      api_version: Stripe.API_VERSION,
      created: 1_800_000_000,
      livemode: false,
      request: { id: null, idempotency_key: null },
      data: { object: sub, previous_attributes: { status: 'active' } },
    });
    expect(evt.id).toMatch(/^evt_/);
    expect('previous_attributes' in fx.event('customer.created', fx.customer()).data).toBe(false);
  });
});

describe('idempotency', () => {
  it('replays the same response for a repeated key and applies the credit once', async () => {
    const cus = seedCustomer();
    const stripe = fake.client();
    const params = { amount: -1500, currency: 'usd', description: 'Goodwill', metadata: { action_id: 'act_1' } };

    const first = await stripe.customers.createBalanceTransaction(cus.id, params, { idempotencyKey: 'credit-act_1' });
    const second = await stripe.customers.createBalanceTransaction(cus.id, params, { idempotencyKey: 'credit-act_1' });

    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(creditsFor(cus.id)).toBe(1);
    expect(fake.get('customers', cus.id)?.balance).toBe(-1500);
    expect(fake.all('customer_balance_transactions')).toHaveLength(1);
    // The params stripe-node encoded arrive decoded, metadata and all.
    expect(fake.writes[0]).toMatchObject({
      idempotencyKey: 'credit-act_1',
      params: { amount: '-1500', currency: 'usd', description: 'Goodwill', metadata: { action_id: 'act_1' } },
    });
  });

  it('rejects the same key with different params as an idempotency error, without effect', async () => {
    const cus = seedCustomer();
    const stripe = fake.client();
    await stripe.customers.createBalanceTransaction(cus.id, { amount: -1500, currency: 'usd' }, { idempotencyKey: 'k1' });

    const err = await rejectionOf(
      stripe.customers.createBalanceTransaction(cus.id, { amount: -2500, currency: 'usd' }, { idempotencyKey: 'k1' }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err.statusCode).toBe(400);
    expect(creditsFor(cus.id)).toBe(1);
    expect(fake.get('customers', cus.id)?.balance).toBe(-1500);
  });

  it('rejects keys longer than 255 characters', async () => {
    const cus = seedCustomer();
    const err = await rejectionOf(
      fake.client().customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd' }, { idempotencyKey: 'k'.repeat(256) }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(creditsFor(cus.id)).toBe(0);
  });

  it('does not save a validation failure, so the corrected request may reuse the key', async () => {
    const cus = seedCustomer();
    const stripe = fake.client();
    const err = await rejectionOf(
      stripe.customers.createBalanceTransaction(cus.id, { amount: -100 } as Stripe.CustomerCreateBalanceTransactionParams, { idempotencyKey: 'k2' }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.param).toBe('currency');
    await stripe.customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd' }, { idempotencyKey: 'k2' });
    expect(creditsFor(cus.id)).toBe(1);
  });
});

describe('faults and retries', () => {
  it('retries two 500s with the same idempotency key and applies the write once', async () => {
    const cus = seedCustomer();
    fake.failNext({ status: 500, times: 2, path: /balance_transactions/ });

    const txn = await fake.client({ maxNetworkRetries: 2 }).customers.createBalanceTransaction(cus.id, { amount: -700, currency: 'usd' });

    const attempts = fake.requests.filter((r) => r.path === `/v1/customers/${cus.id}/balance_transactions`);
    expect(attempts.map((r) => r.status)).toEqual([500, 500, 200]);
    // stripe-node keys every POST itself, and keeps the key across retries — that is what makes them safe.
    expect(new Set(attempts.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(attempts[0]?.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(creditsFor(cus.id)).toBe(1);
    expect(fake.get('customers', cus.id)?.balance).toBe(-700);
    expect(txn.ending_balance).toBe(-700);
  });

  it('surfaces a 500 when retries run out', async () => {
    const cus = seedCustomer();
    fake.failNext({ times: 3 });
    const err = await rejectionOf(fake.client({ maxNetworkRetries: 2 }).customers.retrieve(cus.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(fake.requests).toHaveLength(3);
  });

  it('surfaces a 429 as StripeRateLimitError without retrying', async () => {
    const cus = seedCustomer();
    fake.rateLimitNext({ retryAfterSeconds: 2 });

    const err = await rejectionOf(
      fake.client({ maxNetworkRetries: 2 }).customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd' }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(err.code).toBe('rate_limit');
    expect(err.headers?.['retry-after']).toBe('2');
    expect(fake.requests).toHaveLength(1);
    expect(creditsFor(cus.id)).toBe(0);
  });

  it('times out on a hung response: StripeConnectionError, and nothing was applied', async () => {
    const cus = seedCustomer();
    fake.hangNext({ path: `/v1/customers/${cus.id}/balance_transactions` });

    const err = await rejectionOf(
      fake.client({ timeout: 200 }).customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd' }),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(err.message).toContain('timeout');
    expect(creditsFor(cus.id)).toBe(0);
    expect(fake.get('customers', cus.id)?.balance).toBe(0);
  });

  it('with afterApply, the credit happened although the client timed out; retrying the key replays it', async () => {
    const cus = seedCustomer();
    fake.hangNext({ afterApply: true });
    const stripe = fake.client({ timeout: 200 });
    const params = { amount: -2500, currency: 'usd', metadata: { action_id: 'act_9' } };

    const err = await rejectionOf(stripe.customers.createBalanceTransaction(cus.id, params, { idempotencyKey: 'act_9' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
    expect(creditsFor(cus.id)).toBe(1);
    expect(fake.get('customers', cus.id)?.balance).toBe(-2500);

    // "Stripe applied the credit but we never saw the answer": the same key gets the original result.
    const replay = await stripe.customers.createBalanceTransaction(cus.id, params, { idempotencyKey: 'act_9' });
    expect(replay.id).toBe(fake.writes[0]?.objectId);
    expect(creditsFor(cus.id)).toBe(1);
    expect(fake.get('customers', cus.id)?.balance).toBe(-2500);
  });

  it('with afterApply and client retries, the automatic retry is replayed: one effect, success', async () => {
    const cus = seedCustomer();
    fake.hangNext({ afterApply: true });
    const txn = await fake
      .client({ timeout: 200, maxNetworkRetries: 1 })
      .customers.createBalanceTransaction(cus.id, { amount: -300, currency: 'usd' });
    expect(txn.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(creditsFor(cus.id)).toBe(1);
  });

  it('a short hang is latency: the request completes when the client waits long enough', async () => {
    const cus = seedCustomer();
    fake.hangNext({ ms: 50 });
    const got = await fake.client({ timeout: 2000 }).customers.retrieve(cus.id);
    expect(got.id).toBe(cus.id);
  });

  it('a dropped connection is retried once by stripe-node even with maxNetworkRetries 0', async () => {
    const cus = seedCustomer();
    const stripe = fake.client({ maxNetworkRetries: 0 });

    fake.dropNext({ afterApply: true });
    const txn = await stripe.customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd' });
    expect(fake.requests.map((r) => r.fault ?? 'ok')).toEqual(['drop', 'ok']);
    expect(txn.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(creditsFor(cus.id)).toBe(1);

    fake.dropNext({ times: 2 });
    const err = await rejectionOf(stripe.customers.retrieve(cus.id));
    expect(err).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });

  it('matches faults by method and path, leaving other requests alone', async () => {
    const cus = seedCustomer();
    fake.failNext({ method: 'POST', path: /balance_transactions$/ });
    const stripe = fake.client();
    await expect(stripe.customers.retrieve(cus.id)).resolves.toMatchObject({ id: cus.id });
    await expect(stripe.customers.createBalanceTransaction(cus.id, { amount: -1, currency: 'usd' })).rejects.toBeInstanceOf(
      Stripe.errors.StripeAPIError,
    );
    await expect(stripe.customers.createBalanceTransaction(cus.id, { amount: -1, currency: 'usd' })).resolves.toMatchObject({ amount: -1 });
  });
});

describe('lists and retrieval', () => {
  it('auto-paginates 250 customers newest first in 3 requests of 100', async () => {
    const seeded = Array.from({ length: 250 }, (_, i) => seedCustomer({ created: fx.FIXTURE_NOW + i }));

    const all = await fake.client().customers.list({ limit: 100 }).autoPagingToArray({ limit: 1000 });

    expect(all.map((c) => c.id)).toEqual([...seeded].reverse().map((c) => c.id));
    const pages = fake.requests.filter((r) => r.path === '/v1/customers');
    expect(pages).toHaveLength(3);
    expect(pages.map((r) => r.query.starting_after)).toEqual([undefined, all[99]?.id, all[199]?.id]);
  });

  it('orders equal timestamps by id, and pages backwards with ending_before', async () => {
    const seeded = Array.from({ length: 5 }, () => seedCustomer());
    const stripe = fake.client();
    const first = await stripe.customers.list({ limit: 2 });
    expect(first.data.map((c) => c.id)).toEqual([seeded[4]?.id, seeded[3]?.id]);
    expect(first).toMatchObject({ object: 'list', has_more: true, url: '/v1/customers' });

    const before = await stripe.customers.list({ limit: 2, ending_before: seeded[1]?.id as string });
    expect(before.data.map((c) => c.id)).toEqual([seeded[3]?.id, seeded[2]?.id]);
    expect(before.has_more).toBe(true);
  });

  it('filters by created range and by resource filters', async () => {
    for (let i = 0; i < 10; i++) fake.add('invoices', fx.invoice({ created: 1000 + i, customer: i % 2 ? 'cus_a' : 'cus_b', status: i < 3 ? 'paid' : 'open' }));
    const stripe = fake.client();
    const window = await stripe.invoices.list({ created: { gte: 1003, lt: 1007 } });
    expect(window.data.map((i) => i.created)).toEqual([1006, 1005, 1004, 1003]);
    const paidForA = await stripe.invoices.list({ customer: 'cus_a', status: 'paid' });
    expect(paidForA.data.map((i) => i.created)).toEqual([1001]);
  });

  it('hides canceled subscriptions unless status=all', async () => {
    fake.add('subscriptions', fx.subscription({ status: 'active' }));
    fake.add('subscriptions', fx.subscription({ status: 'canceled' }));
    const stripe = fake.client();
    expect((await stripe.subscriptions.list()).data.map((s) => s.status)).toEqual(['active']);
    expect((await stripe.subscriptions.list({ status: 'all' })).data).toHaveLength(2);
  });

  it('lists a payout’s balance transactions with expanded sources', async () => {
    const po = fake.add('payouts', fx.payout({ amount: 19_360 }));
    const pairs = [fx.chargeWithBalanceTransaction({ amount: 10_000 }), fx.chargeWithBalanceTransaction({ amount: 10_000 })];
    for (const { charge, balanceTransaction } of pairs) {
      fake.add('charges', charge);
      fake.add('balance_transactions', balanceTransaction);
    }
    fake.add('balance_transactions', fx.balanceTransaction({ id: po.balance_transaction as string, type: 'payout', amount: -19_360, source: po.id }));
    fake.add('balance_transactions', fx.balanceTransaction()); // not in this payout
    fake.assignToPayout(po.id, ...pairs.map((p) => p.balanceTransaction.id));

    const txns = await fake
      .client()
      .balanceTransactions.list({ payout: po.id, type: 'charge', expand: ['data.source'] })
      .autoPagingToArray({ limit: 100 });
    expect(txns.map((t) => t.id).sort()).toEqual(pairs.map((p) => p.balanceTransaction.id).sort());
    expect(txns.every((t) => typeof t.source === 'object' && t.source?.object === 'charge')).toBe(true);

    const withPayout = await fake.client().balanceTransactions.list({ payout: po.id });
    expect(withPayout.data.map((t) => t.type).sort()).toEqual(['charge', 'charge', 'payout']);
  });

  it('retrieves with expand, and 404s an unknown id with Stripe’s error shape', async () => {
    const { charge, balanceTransaction } = fx.chargeWithBalanceTransaction();
    fake.add('charges', charge);
    fake.add('balance_transactions', balanceTransaction);
    const stripe = fake.client();

    const got = await stripe.charges.retrieve(charge.id, { expand: ['balance_transaction'] });
    expect(got.balance_transaction).toMatchObject({ id: balanceTransaction.id, object: 'balance_transaction', net: balanceTransaction.net });

    const err = await rejectionOf(stripe.customers.retrieve('cus_missing'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ code: 'resource_missing', param: 'id', statusCode: 404, message: "No such customer: 'cus_missing'" });
  });

  it('rejects parameters Stripe does not accept on an endpoint', async () => {
    const cus = seedCustomer();
    const err = await rejectionOf(
      fake.client().customers.listBalanceTransactions(cus.id, { metadata: { action_id: 'x' } } as Stripe.CustomerListBalanceTransactionsParams),
    );
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.message).toBe('Received unknown parameter: metadata');
  });

  it('lists a customer’s balance transactions with metadata, to find a prior action', async () => {
    const cus = seedCustomer();
    const other = seedCustomer();
    const stripe = fake.client();
    await stripe.customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'usd', metadata: { action_id: 'act_1' } });
    await stripe.customers.createBalanceTransaction(other.id, { amount: -100, currency: 'usd', metadata: { action_id: 'act_2' } });

    const txns = await stripe.customers.listBalanceTransactions(cus.id).autoPagingToArray({ limit: 100 });
    expect(txns.map((t) => t.metadata?.action_id)).toEqual(['act_1']);
    expect(txns[0]).toMatchObject({ object: 'customer_balance_transaction', customer: cus.id, ending_balance: -100, type: 'adjustment' });
  });
});

describe('writes', () => {
  it('updates a subscription like Stripe and emits customer.subscription.updated', async () => {
    const sub = fake.add('subscriptions', fx.subscription({ metadata: { keep: 'yes', drop: 'x' }, pause_collection: { behavior: 'void', resumes_at: null } }));
    const trialEnd = Math.floor(Date.now() / 1000) + 7 * fx.DAY;

    const updated = await fake.client().subscriptions.update(sub.id, {
      trial_end: trialEnd,
      pause_collection: '',
      cancel_at_period_end: true,
      proration_behavior: 'none',
      metadata: { drop: '', added: '1' },
    });

    expect(updated).toMatchObject({
      status: 'trialing',
      trial_end: trialEnd,
      pause_collection: null,
      cancel_at_period_end: true,
      cancel_at: sub.items.data[0]?.current_period_end,
      metadata: { keep: 'yes', added: '1' },
    });
    const [evt] = fake.all('events');
    expect(evt?.type).toBe('customer.subscription.updated');
    expect(evt?.data.previous_attributes).toMatchObject({ status: 'active', pause_collection: { behavior: 'void', resumes_at: null } });
    expect(evt?.request?.id).toBe(fake.writes[0]?.requestId);
  });

  it('refuses to change a canceled subscription', async () => {
    const sub = fake.add('subscriptions', fx.subscription({ status: 'canceled' }));
    const err = await rejectionOf(fake.client().subscriptions.update(sub.id, { cancel_at_period_end: true }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(fake.writes).toHaveLength(0);
  });

  it('voids, marks uncollectible and sends invoices only from the states Stripe allows', async () => {
    const open = fake.add('invoices', fx.invoice({ status: 'open' }));
    const openToSend = fake.add('invoices', fx.invoice({ status: 'open', collection_method: 'send_invoice' }));
    const paid = fake.add('invoices', fx.invoice({ status: 'paid' }));
    const stripe = fake.client();

    const voided = await stripe.invoices.voidInvoice(open.id);
    expect(voided.status).toBe('void');
    expect(voided.status_transitions.voided_at).toEqual(expect.any(Number));
    await expect(stripe.invoices.voidInvoice(paid.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    await expect(stripe.invoices.markUncollectible(open.id)).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((await stripe.invoices.markUncollectible(openToSend.id)).status).toBe('uncollectible');

    const another = fake.add('invoices', fx.invoice({ status: 'open', collection_method: 'send_invoice' }));
    expect((await stripe.invoices.sendInvoice(another.id)).status).toBe('open');
    await expect(stripe.invoices.sendInvoice(fake.add('invoices', fx.invoice()).id)).rejects.toThrow(/send_invoice/);

    expect(fake.writes.map((w) => w.path.split('/').pop())).toEqual(['void', 'mark_uncollectible', 'send']);
    expect(fake.all('events').map((e) => e.type)).toEqual(['invoice.voided', 'invoice.marked_uncollectible', 'invoice.sent']);
  });

  it('keeps a customer balance in one currency', async () => {
    const cus = seedCustomer({ currency: 'usd' });
    const err = await rejectionOf(fake.client().customers.createBalanceTransaction(cus.id, { amount: -100, currency: 'eur' }));
    expect(err.param).toBe('currency');
    expect(fake.get('customers', cus.id)?.balance).toBe(0);
  });

  it('answers an unmodelled endpoint with 404 rather than pretending', async () => {
    const err = await rejectionOf(fake.client().customers.create({ email: 'x@example.com' }));
    expect(err.statusCode).toBe(404);
    expect(err.message).toContain('Unrecognized request URL (POST: /v1/customers)');
  });
});

describe('webhooks', () => {
  const secret = 'whsec_test_secret';

  it('signs with the real library: constructEvent verifies it, and rejects a tampered body or wrong secret', () => {
    const payload = JSON.stringify(fx.event('invoice.paid', fx.toWire(fx.invoice({ status: 'paid' }))), null, 2);
    const header = signWebhook(payload, secret);

    const evt = Stripe.webhooks.constructEvent(payload, header, secret);
    expect(evt.type).toBe('invoice.paid');

    const tampered = payload.replace('"amount_paid": 2000', '"amount_paid": 1');
    expect(tampered).not.toBe(payload);
    expect(() => Stripe.webhooks.constructEvent(tampered, header, secret)).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => Stripe.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow(Stripe.errors.StripeSignatureVerificationError);
  });

  it('honours the timestamp, so a test can send a stale signature', () => {
    const payload = '{"id":"evt_1","object":"event"}';
    const stale = signWebhook(payload, secret, Math.floor(Date.now() / 1000) - 3600);
    expect(stale).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(() => Stripe.webhooks.constructEvent(payload, stale, secret)).toThrow(/tolerance/);
  });

  it('POSTs a signed event that a receiver verifies from the raw body', async () => {
    const received: string[] = [];
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          const evt = Stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'] ?? '', secret);
          received.push(evt.id);
          res.writeHead(200).end('ok');
        } catch {
          res.writeHead(400).end('bad signature');
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;
      const evt = fx.event('customer.created', fx.customer());

      expect(await postWebhook(url, evt, secret)).toMatchObject({ status: 200, body: 'ok' });
      expect(received).toEqual([evt.id]);
      expect(await postWebhook(url, evt, 'whsec_wrong')).toMatchObject({ status: 400 });
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });
});
