import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkCreditBalances, createRequest, creditLedger, decide, expireRequests } from '../../src/approvals/index.js';
import { listAudit } from '../../src/audit/index.js';
import { listExceptions } from '../../src/exceptions/index.js';
import { JOB_BODIES, type JobRunContext, type JobSummary } from '../../src/jobs/index.js';
import { normalizeObjects } from '../../src/stripe/index.js';
import { APPROVER_1, APPROVER_2, type Harness, REQUESTER, fx, startHarness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());
beforeEach(() => {
  h.settled.length = 0;
});

let n = 0;
async function newCustomer(balance: number) {
  n += 1;
  return h.seed('customers', fx.customer({ name: `Ledger Customer ${n}`, currency: 'usd', balance }));
}

/** What Stripe's `customer.updated` webhook (or the backfill) would write to billops' copy, now. */
async function stripeCopySays(customer: ReturnType<typeof fx.customer>, balance: number) {
  const at = h.clock.now();
  await normalizeObjects(h.db.db, [{ object: fx.toWire({ ...customer, balance }), version: { at, eventId: null } }], at);
}

async function credit(customerId: string, amount: bigint, reasonCode = 'goodwill') {
  const req = await createRequest(h.deps, { params: { action: 'credit', customerId, amount, currency: 'USD', reasonCode, note: `credit ${amount}` }, requester: REQUESTER });
  if (req.status === 'pending') expect((await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_2 })).outcome).toBe('approved');
  expect(await h.run()).toMatchObject({ executed: 1 });
  return req;
}

const mismatches = async (customerId: string) =>
  (await listExceptions(h.db.db, { status: 'all', kind: 'credit_balance_mismatch', customerId, clock: h.clock })).items;

describe('credit ledger', () => {
  it('records each credit with reason, requester, approvers and Stripe transaction, on top of Stripe\'s opening balance', async () => {
    h.clock.set('2026-11-01T09:00:00Z');
    const cus = await newCustomer(-1000); // holds $10.00 of credit before billops' first credit
    const req = await credit(cus.id, 25_000n, 'billing_error');
    const ledger = await creditLedger(h.db.db, cus.id, { config: h.config });
    expect(ledger.entries.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['opening', 1000n, 1000n],
      ['credit', 25_000n, 26_000n],
    ]);
    expect(ledger.entries[1]).toMatchObject({
      reasonCode: 'billing_error',
      reasonLabel: 'Billing error',
      requestId: req.id,
      requestedBy: REQUESTER.userId,
      approvedBy: [APPROVER_2.userId],
      stripeId: h.fake.writes.at(-1)?.objectId,
    });
    expect(ledger.balanceByCurrency).toEqual([{ currency: 'USD', amount: 26_000n }]);
    expect(h.fake.get('customers', cus.id)?.balance).toBe(-26_000);
    // billops' copy has not heard from Stripe since the credit: not compared yet
    expect(ledger).toMatchObject({ stale: true, mismatch: false });
    expect(await mismatches(cus.id)).toEqual([]);
    // the executor compared Stripe's own answer (ending balance) with the ledger: no exception
    h.clock.advance(60_000);
    await stripeCopySays(cus, -26_000);
    expect(await creditLedger(h.db.db, cus.id)).toMatchObject({ stale: false, mismatch: false, stripeBalance: { amount: -26_000n, currency: 'USD' } });
  });

  it('follows credit used up by invoices, and a balance change billops cannot explain becomes an exception until it agrees again', async () => {
    h.clock.set('2026-11-02T09:00:00Z');
    const cus = await newCustomer(0);
    await credit(cus.id, 50_000n);
    h.clock.set('2026-11-03T09:00:00Z');
    // Stripe applies $200.00 of the credit to the next invoice
    await h.seed(
      'invoices',
      fx.invoice({ customer: cus.id, status: 'paid', amount_due: 0, total: 20_000, starting_balance: -50_000, ending_balance: -30_000, status_transitions: { finalized_at: fx.unix('2026-11-03T08:00:00Z'), paid_at: fx.unix('2026-11-03T08:00:00Z'), marked_uncollectible_at: null, voided_at: null } }),
    );
    await stripeCopySays(cus, -30_000);
    const ledger = await creditLedger(h.db.db, cus.id);
    expect(ledger.entries.map((e) => [e.kind, e.amount, e.balanceAfter])).toEqual([
      ['opening', 0n, 0n],
      ['credit', 50_000n, 50_000n],
      ['invoice', -20_000n, 30_000n],
    ]);
    expect(ledger.mismatch).toBe(false);
    expect((await checkCreditBalances({ ...h.deps })).opened).toBe(0);

    // someone adds $50.00 of credit in the Dashboard
    h.clock.set('2026-11-04T09:00:00Z');
    await stripeCopySays(cus, -35_000);
    const first = await checkCreditBalances({ ...h.deps });
    expect(first).toMatchObject({ opened: 1 });
    const [ex] = await mismatches(cus.id);
    expect(ex).toMatchObject({
      kind: 'credit_balance_mismatch',
      kindLabel: 'Credit balance mismatch',
      status: 'open',
      amount: -5_000n,
      currency: 'USD',
      customerId: cus.id,
      customerName: cus.name,
      summary: "billops' credit ledger says $300.00 of credit, Stripe's balance $350.00",
    });
    // a second check changes nothing and audits nothing
    const auditBefore = (await listAudit(h.db.db, { entity: { type: 'exception', id: String(ex?.id) } })).length;
    expect(await checkCreditBalances({ ...h.deps })).toMatchObject({ opened: 0, reopened: 0, autoResolved: 0 });
    expect((await listAudit(h.db.db, { entity: { type: 'exception', id: String(ex?.id) } })).length).toBe(auditBefore);

    // the Dashboard credit is reversed: the two agree again
    h.clock.set('2026-11-05T09:00:00Z');
    await stripeCopySays(cus, -30_000);
    expect(await checkCreditBalances({ ...h.deps })).toMatchObject({ autoResolved: 1 });
    expect((await mismatches(cus.id))[0]?.status).toBe('auto_resolved');
    h.clock.set('2026-11-06T09:00:00Z');
    await stripeCopySays(cus, -10_000);
    expect(await checkCreditBalances({ ...h.deps })).toMatchObject({ reopened: 1 });
    expect((await mismatches(cus.id))[0]).toMatchObject({ status: 'reopened', amount: 20_000n });
    const actions = (await listAudit(h.db.db, { entity: { type: 'exception', id: String(ex?.id) } })).map((a) => a.action);
    expect(actions).toEqual(['exception.opened', 'exception.auto_resolved', 'exception.reopened']);
  });

  it('the executor opens the exception at once when Stripe\'s answer to a credit disagrees with the ledger', async () => {
    h.clock.set('2026-11-07T09:00:00Z');
    const cus = await newCustomer(0);
    await credit(cus.id, 5_000n);
    // a Dashboard credit billops never hears of, then a second billops credit
    h.fake.update('customers', cus.id, { balance: -5_000 - 7_000 });
    h.clock.advance(60_000);
    await credit(cus.id, 3_000n);
    const [ex] = await mismatches(cus.id);
    expect(ex).toMatchObject({ status: 'open', amount: -7_000n, summary: "billops' credit ledger says $80.00 of credit, Stripe's balance $150.00" });
  });
});

describe('approval jobs', () => {
  function ctx(jobName: JobRunContext['jobName']): JobRunContext {
    return {
      db: h.db.db,
      config: h.config,
      clock: h.clock,
      logger: h.deps.logger,
      runId: 1n,
      jobName,
      fireTime: h.clock.now(),
      trigger: 'manual',
      actor: { kind: 'scheduler', id: jobName },
      signal: new AbortController().signal,
    };
  }

  it('approval_outbox executes what is due and tells the Slack side; approval_expiry expires what nobody decided', async () => {
    h.clock.set('2026-11-10T09:00:00Z');
    const told: string[] = [];
    const deps = { config: h.config, stripe: () => h.stripe, onApprovalSettled: async (r: { id: string; status: string }) => void told.push(`${r.id}:${r.status}`) };
    const cus = await newCustomer(0);
    const due = await createRequest(h.deps, { params: { action: 'credit', customerId: cus.id, amount: 40_000n, currency: 'USD', reasonCode: 'goodwill', note: 'job' }, requester: REQUESTER });
    await decide(h.deps, { requestId: due.id, decision: 'approve', actor: APPROVER_1 });
    const stale = await createRequest(h.deps, { params: { action: 'credit', customerId: cus.id, amount: 41_000n, currency: 'USD', reasonCode: 'goodwill', note: 'nobody' }, requester: REQUESTER });

    const outbox = JOB_BODIES.approval_outbox?.(deps);
    if (typeof outbox !== 'function') throw new Error('approval_outbox has no body');
    expect(await outbox(ctx('approval_outbox'))).toEqual({ executed: 1, failed: 0, retried: 0 } satisfies JobSummary);
    h.clock.advance(73 * 3_600_000);
    const expiry = JOB_BODIES.approval_expiry?.(deps);
    if (typeof expiry !== 'function') throw new Error('approval_expiry has no body');
    expect(await expiry(ctx('approval_expiry'))).toEqual({ expired: 1, requests: [stale.id] });
    expect(told).toEqual([`${due.id}:executed`, `${stale.id}:expired`]);
    expect(await expireRequests(h.deps)).toEqual([]);
  });
});
