import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type ApprovalStripe,
  createRequest,
  creditLedger,
  decide,
  getRequest,
  retryRequest,
  startOutboxWorker,
  stripeApprovalClient,
} from '../../src/approvals/index.js';
import { listAudit } from '../../src/audit/index.js';
import { getException } from '../../src/exceptions/index.js';
import { insertExceptions } from '../support/exception-rows.js';
import { APPROVER_1, APPROVER_2, type Harness, REQUESTER, fx, startHarness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  h.clock.set('2026-11-01T09:00:00Z');
  h.settled.length = 0;
});

let customers = 0;
/** A fresh customer (in the fake and in billops' copy) for each test, so writes can be counted per test. */
async function newCustomer(currency = 'usd', balance = 0) {
  customers += 1;
  return h.seed('customers', fx.customer({ name: `Customer ${customers}`, currency, balance }));
}

async function creditRequest(customerId: string, amount: bigint, currency = 'USD') {
  return createRequest(h.deps, { params: { action: 'credit', customerId, amount, currency, reasonCode: 'service_outage', note: 'Outage' }, requester: REQUESTER });
}

/** An approved credit of $250.00 (one approver). */
async function approvedCredit(customerId: string, amount = 25_000n) {
  const req = await creditRequest(customerId, amount);
  const res = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
  expect(res.outcome).toBe('approved');
  return req;
}

const writesFor = (id: string) => h.fake.writes.filter((w) => w.idempotencyKey === `approval:${id}:credit`);
const postsFor = (id: string, action = 'credit') => h.fake.requests.filter((r) => r.method === 'POST' && r.idempotencyKey === `approval:${id}:${action}`);
const stripeBalance = (customerId: string) => h.fake.get('customers', customerId)?.balance;

/** The executor's Stripe side with one call replaced. */
function withCredit(create: ApprovalStripe['createCustomerCredit']): ApprovalStripe {
  return { ...stripeApprovalClient(h.stripe), createCustomerCredit: create };
}

describe('exactly-once money', () => {
  it('20 concurrent approvals of one request make one outbox row and one Stripe write', async () => {
    const cus = await newCustomer();
    const req = await creditRequest(cus.id, 25_000n);
    const actors = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? APPROVER_1 : APPROVER_2));
    const results = await Promise.all(actors.map((actor) => decide(h.deps, { requestId: req.id, decision: 'approve', actor })));
    expect(results.filter((r) => r.outcome === 'approved')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'refused')).toHaveLength(19);
    expect(results.find((r) => r.outcome === 'refused')?.message).toMatch(/was already approved by <@UAPR000[12]>/);
    const outbox = await h.db.db.selectFrom('approval_outbox').selectAll().where('request_id', '=', BigInt(req.id)).execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]?.idempotency_key).toBe(`approval:${req.id}:credit`);

    // three replicas' executors at once
    const runs = await Promise.all([h.run(), h.run(), h.run()]);
    expect(runs.reduce((n, r) => n + r.executed, 0)).toBe(1);
    expect(writesFor(req.id)).toHaveLength(1);
    expect(stripeBalance(cus.id)).toBe(-25_000);
    const done = await getRequest(h.db.db, req.id);
    expect(done).toMatchObject({ status: 'executed', execution: { attempts: 1, lastError: null } });
    expect(done?.execution.stripeObjectId).toMatch(/^cbtxn_/);
    const audit = await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id } });
    expect(audit.map((a) => a.action)).toEqual(['approval.requested', 'approval.approved', 'approval.executed']);
    expect(h.settled.map((r) => [r.id, r.status])).toEqual([[req.id, 'executed']]);
  });

  it('stamps the approval id in the balance transaction\'s metadata and credits with Stripe\'s sign', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    await h.run();
    const [w] = writesFor(req.id);
    expect(w).toMatchObject({ path: `/v1/customers/${cus.id}/balance_transactions`, params: { amount: '-25000', currency: 'usd' } });
    expect(w?.params.metadata).toMatchObject({ billops_approval_id: req.id, billops_requested_by: REQUESTER.userId, billops_reason: 'service_outage' });
  });

  it('a run that dies after claiming, before the Stripe call: a fresh run after the lease makes one credit with the same key', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    let reached = false;
    // the process "dies" holding the claim: its Stripe call never returns, and nothing is recorded
    const dying = h.run({
      stripe: withCredit(() => {
        reached = true;
        return new Promise(() => undefined);
      }),
      workerId: 'replica-that-dies',
    });
    void dying;
    while (!reached) await new Promise((r) => setTimeout(r, 5));
    expect(await getRequest(h.db.db, req.id)).toMatchObject({ status: 'executing' });
    expect(postsFor(req.id)).toHaveLength(0);

    // another replica now: the lease still holds
    expect(await h.run()).toEqual({ executed: 0, failed: 0, retried: 0 });
    h.clock.advance(121_000); // executor.lease_seconds: 120
    expect(await h.run()).toEqual({ executed: 1, failed: 0, retried: 0 });
    expect(writesFor(req.id)).toHaveLength(1);
    expect(postsFor(req.id).map((r) => r.idempotencyKey)).toEqual([`approval:${req.id}:credit`]);
    expect(stripeBalance(cus.id)).toBe(-25_000);
    expect(await getRequest(h.db.db, req.id)).toMatchObject({ status: 'executed', execution: { attempts: 2 } });
  });

  it('an attempt that crashes in billops is retried with backoff and applies once', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    const crashed = await h.run({
      stripe: withCredit(() => {
        throw new Error('worker crashed: out of memory');
      }),
    });
    expect(crashed).toEqual({ executed: 0, failed: 0, retried: 1 });
    expect(await getRequest(h.db.db, req.id)).toMatchObject({
      status: 'approved',
      execution: { attempts: 1, lastError: 'worker crashed: out of memory', nextAttemptAt: new Date('2026-11-01T09:00:30Z') },
    });
    expect(h.settled.at(-1)).toMatchObject({ id: req.id, status: 'approved' });
    expect(await h.run()).toEqual({ executed: 0, failed: 0, retried: 0 }); // not due yet
    h.clock.advance(30_000);
    expect(await h.run()).toEqual({ executed: 1, failed: 0, retried: 0 });
    expect(writesFor(req.id)).toHaveLength(1);
  });

  it('Stripe answering 500 twice, then 200: one credit, the same key every time', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    h.fake.failNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions`, times: 2 });
    expect(await h.run()).toMatchObject({ retried: 1 });
    expect((await getRequest(h.db.db, req.id))?.execution.lastError).toMatch(/^Stripe 500: An unknown error occurred/);
    h.clock.advance(30_000);
    expect(await h.run()).toMatchObject({ retried: 1 });
    expect((await getRequest(h.db.db, req.id))?.execution.nextAttemptAt).toEqual(new Date('2026-11-01T09:01:30Z')); // 30 s, then 60 s
    h.clock.advance(60_000);
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(postsFor(req.id)).toHaveLength(3);
    expect(new Set(postsFor(req.id).map((r) => r.idempotencyKey))).toEqual(new Set([`approval:${req.id}:credit`]));
    expect(writesFor(req.id)).toHaveLength(1);
    expect(stripeBalance(cus.id)).toBe(-25_000);
    const audit = await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id } });
    expect(audit.map((a) => a.action)).toEqual(['approval.requested', 'approval.approved', 'approval.attempt_failed', 'approval.attempt_failed', 'approval.executed']);
  });

  it('a Stripe timeout after Stripe applied the credit: the retry gets Stripe\'s first answer, no second credit', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    const impatient = h.fake.client({ maxNetworkRetries: 0, timeout: 300 });
    h.fake.hangNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions`, afterApply: true });
    expect(await h.run({ stripe: impatient })).toMatchObject({ retried: 1 });
    expect(stripeBalance(cus.id)).toBe(-25_000); // Stripe did it; billops does not know yet
    expect((await getRequest(h.db.db, req.id))?.status).toBe('approved');
    h.clock.advance(30_000);
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(writesFor(req.id)).toHaveLength(1);
    expect(postsFor(req.id).at(-1)?.replayed).toBe(true);
    expect(stripeBalance(cus.id)).toBe(-25_000);
    const ledger = await creditLedger(h.db.db, cus.id);
    expect(ledger.entries.filter((e) => e.kind === 'credit')).toHaveLength(1);
  });

  it('an attempt whose first try is older than 24 h looks the credit up by metadata and does not repeat it', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    const impatient = h.fake.client({ maxNetworkRetries: 0, timeout: 300 });
    h.fake.hangNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions`, afterApply: true });
    expect(await h.run({ stripe: impatient })).toMatchObject({ retried: 1 });
    h.clock.advance(25 * 3_600_000);
    const before = h.fake.requests.length;
    expect(await h.run()).toMatchObject({ executed: 1 });
    const since = h.fake.requests.slice(before);
    expect(since.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v1/customers/${cus.id}/balance_transactions`]);
    expect(writesFor(req.id)).toHaveLength(1);
    const done = await getRequest(h.db.db, req.id);
    expect(done?.execution.stripeObjectId).toBe(writesFor(req.id)[0]?.objectId);
    const [executed] = await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id }, action: 'approval.executed' });
    expect(executed?.after).toMatchObject({ note: expect.stringMatching(/found in Stripe by metadata/) });
  });

  it('after 24 h with nothing in Stripe, the credit is made (once)', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    h.fake.failNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions` });
    expect(await h.run()).toMatchObject({ retried: 1 });
    h.clock.advance(25 * 3_600_000);
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(writesFor(req.id)).toHaveLength(1);
    expect(stripeBalance(cus.id)).toBe(-25_000);
  });

  it('fails after the last attempt (Slack shows Retry); a retry queues it again and it executes once', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    h.fake.failNext({ method: 'POST', path: `/v1/customers/${cus.id}/balance_transactions`, times: 5, status: 503 });
    for (let i = 0; i < 5; i++) {
      await h.run();
      h.clock.advance(3_600_000);
    }
    const failed = await getRequest(h.db.db, req.id);
    expect(failed).toMatchObject({ status: 'failed', execution: { attempts: 5, nextAttemptAt: null } });
    expect(failed?.execution.lastError).toMatch(/^Stripe 503/);
    expect(h.settled.at(-1)).toMatchObject({ id: req.id, status: 'failed' });
    expect(await h.run()).toEqual({ executed: 0, failed: 0, retried: 0 });

    const retried = await retryRequest(h.deps, { requestId: req.id, actor: REQUESTER });
    expect(retried).toMatchObject({ outcome: 'queued', request: { status: 'approved' } });
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(writesFor(req.id)).toHaveLength(1);
    const actions = (await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id } })).map((a) => a.action);
    expect(actions.filter((a) => a === 'approval.attempt_failed')).toHaveLength(4);
    expect(actions.slice(-3)).toEqual(['approval.failed', 'approval.retry_requested', 'approval.executed']);
  });

  it('a request Stripe refuses (400) fails at once, with Stripe\'s reason', async () => {
    const cus = await newCustomer();
    const req = await approvedCredit(cus.id);
    h.fake.update('customers', cus.id, { currency: 'eur' });
    expect(await h.run()).toMatchObject({ failed: 1 });
    const failed = await getRequest(h.db.db, req.id);
    expect(failed).toMatchObject({ status: 'failed', execution: { attempts: 1 } });
    expect(failed?.execution.lastError).toBe("Stripe 400: The currency usd does not match the customer's currency eur.");
    expect(writesFor(req.id)).toHaveLength(0);
  });
});

describe('the other actions', () => {
  it('extends a trial without proration and stamps the approval in the subscription metadata', async () => {
    const cus = await newCustomer();
    const sub = await h.seed('subscriptions', fx.subscription({ customer: cus.id, status: 'trialing', trial_end: fx.unix('2026-11-10T00:00:00Z') }));
    const req = await createRequest(h.deps, {
      params: { action: 'extend_trial', subscriptionId: sub.id, trialEnd: new Date('2026-11-24T00:00:00Z'), note: 'Pilot' },
      requester: REQUESTER,
    });
    await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_2 });
    expect(await h.run()).toMatchObject({ executed: 1 });
    const [post] = postsFor(req.id, 'extend_trial');
    expect(post?.body).toMatchObject({ trial_end: String(fx.unix('2026-11-24T00:00:00Z')), proration_behavior: 'none', metadata: { billops_approval_id: req.id } });
    expect(h.fake.get('subscriptions', sub.id)).toMatchObject({ trial_end: fx.unix('2026-11-24T00:00:00Z'), metadata: { billops_approval_id: req.id } });
    // billops' copy is updated from Stripe's answer at once
    const local = await h.db.db.selectFrom('stripe_subscriptions').select('trial_end').where('id', '=', sub.id).executeTakeFirstOrThrow();
    expect(local.trial_end).toEqual(new Date('2026-11-24T00:00:00Z'));
    const [executed] = await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id }, action: 'approval.executed' });
    expect(executed).toMatchObject({ before: { trial_end: '2026-11-10T00:00:00.000Z' }, after: { trial_end: '2026-11-24T00:00:00.000Z' } });
  });

  it('pauses and resumes collection, cancels at period end and undoes it', async () => {
    const cus = await newCustomer();
    const sub = await h.seed('subscriptions', fx.subscription({ customer: cus.id, status: 'active' }));
    const ask = async (params: Parameters<typeof createRequest>[1]['params']) => {
      const req = await createRequest(h.deps, { params, requester: REQUESTER });
      if (req.status === 'pending') await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
      expect(await h.run()).toMatchObject({ executed: 1 });
      h.clock.advance(1000);
      return req;
    };
    const pause = await ask({ action: 'pause_collection', subscriptionId: sub.id, behavior: 'keep_as_draft', resumesAt: new Date('2026-12-01T00:00:00Z'), note: 'Promise to pay' });
    expect(pause.requiredApprovals).toBe(1);
    expect(h.fake.get('subscriptions', sub.id)?.pause_collection).toEqual({ behavior: 'keep_as_draft', resumes_at: fx.unix('2026-12-01T00:00:00Z') });
    const resume = await ask({ action: 'resume_collection', subscriptionId: sub.id, note: 'Paid' });
    expect(resume.requiredApprovals).toBe(0);
    expect(h.fake.get('subscriptions', sub.id)?.pause_collection).toBeNull();
    await ask({ action: 'cancel_at_period_end', subscriptionId: sub.id, note: 'Churning' });
    expect(h.fake.get('subscriptions', sub.id)?.cancel_at_period_end).toBe(true);
    await ask({ action: 'undo_cancel', subscriptionId: sub.id, note: 'Saved' });
    expect(h.fake.get('subscriptions', sub.id)?.cancel_at_period_end).toBe(false);
    const local = await h.db.db.selectFrom('stripe_subscriptions').select(['pause_behavior', 'cancel_at_period_end']).where('id', '=', sub.id).executeTakeFirstOrThrow();
    expect(local).toEqual({ pause_behavior: null, cancel_at_period_end: false });
  });

  it('voids a large invoice after two approvals and writes off another as uncollectible', async () => {
    const cus = await newCustomer();
    const big = await h.seed('invoices', fx.invoice({ customer: cus.id, status: 'open', amount_due: 750_000 }));
    const small = await h.seed('invoices', fx.invoice({ customer: cus.id, status: 'open', amount_due: 12_000 }));
    const v = await createRequest(h.deps, { params: { action: 'void_invoice', invoiceId: big.id, note: 'Issued twice' }, requester: REQUESTER });
    expect(v).toMatchObject({ requiredApprovals: 2, amount: { amount: 750_000n, currency: 'USD' } });
    await decide(h.deps, { requestId: v.id, decision: 'approve', actor: APPROVER_1 });
    expect(await h.run()).toMatchObject({ executed: 0 });
    expect(h.fake.get('invoices', big.id)?.status).toBe('open');
    await decide(h.deps, { requestId: v.id, decision: 'approve', actor: APPROVER_2 });
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(h.fake.get('invoices', big.id)?.status).toBe('void');
    const u = await createRequest(h.deps, { params: { action: 'mark_uncollectible', invoiceId: small.id, note: 'Bankrupt' }, requester: REQUESTER });
    await decide(h.deps, { requestId: u.id, decision: 'approve', actor: APPROVER_2 });
    expect(await h.run()).toMatchObject({ executed: 1 });
    expect(h.fake.get('invoices', small.id)?.status).toBe('uncollectible');
    expect(postsFor(u.id, 'mark_uncollectible')).toHaveLength(1);
    const local = await h.db.db.selectFrom('stripe_invoices').select(['id', 'status']).where('id', 'in', [big.id, small.id]).orderBy('id').execute();
    expect(Object.fromEntries(local.map((r) => [r.id, r.status]))).toEqual({ [big.id]: 'void', [small.id]: 'uncollectible' });
  });

  it('resolves a high-value exception through the exceptions service, without Stripe', async () => {
    const [id] = await insertExceptions(h.db.db, [{ amount: 750_000n, openedAt: '2026-10-20T00:00:00Z', severity: 'critical' }]);
    const before = h.fake.requests.length;
    const req = await createRequest(h.deps, {
      params: { action: 'resolve_exception', exceptionId: String(id), resolutionCode: 'written_off', note: 'Written off per controller' },
      requester: REQUESTER,
    });
    expect(req).toMatchObject({ requiredApprovals: 1, title: `Resolve exception #${id} (Missing in GL, $7,500.00) as written_off` });
    await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
    expect(await h.run({ stripe: () => { throw new Error('no Stripe needed'); } })).toMatchObject({ executed: 1 });
    const ex = await getException(h.db.db, id as bigint);
    expect(ex).toMatchObject({ status: 'resolved', resolutionCode: 'written_off', resolvedBy: REQUESTER.userId, resolutionNote: 'Written off per controller' });
    expect(h.fake.requests.length).toBe(before);
    const [audit] = await listAudit(h.db.db, { entity: { type: 'exception', id: String(id) }, action: 'exception.resolved' });
    expect(audit?.context).toMatchObject({ approval_request_id: req.id, approved_by: [APPROVER_1.userId] });
  });
});

describe('the outbox worker', () => {
  it('executes at once when nudged, and stops cleanly', async () => {
    const cus = await newCustomer();
    const worker = startOutboxWorker({ ...h.outboxDeps(), pollMs: 60_000 });
    await worker.idle();
    const req = await approvedCredit(cus.id);
    worker.nudge();
    await worker.idle();
    expect(await getRequest(h.db.db, req.id)).toMatchObject({ status: 'executed' });
    await worker.stop();
    expect(writesFor(req.id)).toHaveLength(1);
    const rows = await sql<{ n: string }>`select count(*)::text as n from approval_outbox where status in ('queued', 'running')`.execute(h.db.db);
    expect(rows.rows[0]?.n).toBe('0');
  });
});
