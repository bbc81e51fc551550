import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApprovalInputError,
  configRoleChecker,
  createRequest,
  decide,
  expireRequests,
  getRequest,
  listAwaitingDecision,
  listOpenRequestsBy,
  reasonCodes,
  retryRequest,
  setRequestMessage,
} from '../../src/approvals/index.js';
import { listAudit } from '../../src/audit/index.js';
import { MAX_MINOR_UNITS } from '../../src/money/index.js';
import { UserError } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { ADMIN, APPROVER_1, APPROVER_2, type Harness, OUTSIDER, REQUESTER, REQUESTER_2, fx, startHarness } from './helpers.js';

let h: Harness;
let usd: string;

beforeAll(async () => {
  h = await startHarness({ yaml: 'org:\n  reporting_currency: USD\n  fx_rates: { EUR: "1.10", JPY: "0.0070" }\n' });
  usd = (await h.seed('customers', fx.customer({ name: 'Globex', currency: 'usd' }))).id;
});
afterAll(() => h.close());
beforeEach(() => {
  h.clock.set('2026-11-01T09:00:00Z');
  h.fake.writes.length = 0;
});

const credit = (customerId: string, amount: bigint, currency = 'USD', extra: Record<string, unknown> = {}) => ({
  params: { action: 'credit' as const, customerId, amount, currency, reasonCode: 'goodwill', note: 'Outage on 28 Oct', ...extra },
  requester: REQUESTER,
});

async function inputError(p: Promise<unknown>): Promise<ApprovalInputError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApprovalInputError);
  return err as ApprovalInputError;
}

describe('policy: who may approve what', () => {
  it('refuses self-approval, even from someone who is also an approver', async () => {
    const req = await createRequest(h.deps, { ...credit(usd, 25_000n), requester: APPROVER_1 });
    expect(req).toMatchObject({ status: 'pending', requiredApprovals: 1, title: 'Credit $250.00 to Globex (Goodwill)' });
    const res = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
    expect(res.outcome).toBe('refused');
    expect(res.message).toMatch(/You requested this, so you cannot approve it/);
    expect(res.request.status).toBe('pending');
    expect(res.request.approvals).toEqual([]);
  });

  it('refuses someone who is not an approver, and an admin may approve', async () => {
    const req = await createRequest(h.deps, credit(usd, 30_000n));
    const res = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: OUTSIDER });
    expect(res).toMatchObject({ outcome: 'refused', request: { status: 'pending' } });
    expect(res.message).toMatch(/Only approvers/);
    const byRequester2 = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: REQUESTER_2 });
    expect(byRequester2.outcome).toBe('refused');
    const byAdmin = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: ADMIN });
    expect(byAdmin).toMatchObject({ outcome: 'approved', request: { status: 'approved', approvals: [{ userId: ADMIN.userId }] } });
  });

  it('over the one-approver band needs two different approvers; the same approver twice is refused', async () => {
    const req = await createRequest(h.deps, credit(usd, 500_001n));
    expect(req.requiredApprovals).toBe(2);
    const first = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
    expect(first.outcome).toBe('approval_recorded');
    expect(first.message).toMatch(/one more approver/);
    const twice = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
    expect(twice.outcome).toBe('refused');
    expect(twice.message).toMatch(/already approved request #\d+; it needs a second approver/);
    expect(twice.request).toMatchObject({ status: 'pending', approvals: [{ userId: APPROVER_1.userId }] });
    expect(await h.db.db.selectFrom('approval_outbox').selectAll().where('request_id', '=', BigInt(req.id)).execute()).toEqual([]);
    const second = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_2 });
    expect(second).toMatchObject({ outcome: 'approved', request: { status: 'approved' } });
    expect(second.request.approvals.map((a) => a.userId)).toEqual([APPROVER_1.userId, APPROVER_2.userId]);
  });

  it('bands are inclusive: $100.00 goes through at once, $100.01 needs one approver, $5,000.00 one, $5,000.01 two', async () => {
    const c = (await h.seed('customers', fx.customer({ name: 'Bands Inc', currency: 'usd' }))).id;
    const req = async (amount: bigint, n: number) => (await createRequest(h.deps, credit(c, amount, 'USD', { note: `band ${n}` }))).requiredApprovals;
    expect(await req(10_000n, 1)).toBe(0);
    expect(await req(10_001n, 2)).toBe(1);
    expect(await req(500_000n, 3)).toBe(1);
    expect(await req(500_001n, 4)).toBe(2);
  });

  it('compares other currencies with the bands through org.fx_rates, and takes the strictest band without a rate', async () => {
    const eur = (await h.seed('customers', fx.customer({ name: 'Berliner GmbH', currency: 'eur' }))).id;
    const jpy = (await h.seed('customers', fx.customer({ name: 'Tokyo K.K.', currency: 'jpy' }))).id;
    const chf = (await h.seed('customers', fx.customer({ name: 'Zürich AG', currency: 'chf' }))).id;
    // €95.00 × 1.10 = $104.50 > $100 → one approver; €90.00 = $99.00 → none
    expect((await createRequest(h.deps, credit(eur, 9_500n, 'EUR'))).requiredApprovals).toBe(1);
    expect((await createRequest(h.deps, credit(eur, 9_000n, 'EUR', { note: 'second' }))).requiredApprovals).toBe(0);
    // ¥800,000 × 0.007 = $5,600 → two approvers
    expect((await createRequest(h.deps, credit(jpy, 800_000n, 'JPY'))).requiredApprovals).toBe(2);
    const noRate = await createRequest(h.deps, credit(chf, 100n, 'CHF'));
    expect(noRate.requiredApprovals).toBe(2);
    expect(noRate.policyNote).toBe('No rate for CHF in org.fx_rates, so CHF 1.00 cannot be compared with $100.00: the strictest band applies.');
  });

  it('an empty roles.requester lets anyone request; a listed one keeps others out', async () => {
    await expect(createRequest(h.deps, { ...credit(usd, 1_000n), requester: OUTSIDER })).rejects.toThrow(/Only people in roles.requester/);
    const open = testConfig({ yaml: `roles:\n  approver: [${APPROVER_1.userId}]\n` });
    const deps = { ...h.deps, config: open, roles: configRoleChecker(open) };
    const req = await createRequest(deps, { ...credit(usd, 12_345n), requester: OUTSIDER });
    expect(req).toMatchObject({ status: 'pending', requestedBy: { userId: OUTSIDER.userId } });
    const nobody = testConfig({ yaml: '' });
    await expect(createRequest({ ...h.deps, config: nobody, roles: configRoleChecker(nobody) }, { ...credit(usd, 23_456n), requester: OUTSIDER })).rejects.toThrow(
      /Nobody can approve this/,
    );
  });

  it('a rejected request never reaches Stripe, and needs a reason', async () => {
    const req = await createRequest(h.deps, credit(usd, 40_000n));
    const noReason = await inputError(decide(h.deps, { requestId: req.id, decision: 'reject', reason: '  ', actor: APPROVER_1 }));
    expect(noReason.field).toBe('reason');
    const res = await decide(h.deps, { requestId: req.id, decision: 'reject', reason: 'Already credited in October', actor: APPROVER_1 });
    expect(res).toMatchObject({ outcome: 'rejected', request: { status: 'rejected', rejection: { userId: APPROVER_1.userId, reason: 'Already credited in October' } } });
    const late = await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_2 });
    expect(late.outcome).toBe('refused');
    expect(late.message).toMatch(/already rejected by <@UAPR0001>.*Already credited in October/);
    await h.run();
    expect(h.fake.requests.filter((r) => r.idempotencyKey === `approval:${req.id}:credit`)).toEqual([]);
    expect((await getRequest(h.db.db, req.id))?.status).toBe('rejected');
  });

  it('an expired request never reaches Stripe: a late approval is refused and the expiry job marks the rest', async () => {
    const a = await createRequest(h.deps, credit(usd, 41_000n));
    const b = await createRequest(h.deps, credit(usd, 42_000n));
    expect(a.expiresAt.toISOString()).toBe('2026-11-04T09:00:00.000Z'); // expire_after_hours: 72
    h.clock.set('2026-11-04T09:00:01Z');
    const late = await decide(h.deps, { requestId: a.id, decision: 'approve', actor: APPROVER_1 });
    expect(late).toMatchObject({ outcome: 'refused', request: { status: 'expired' } });
    expect(late.message).toMatch(/expired at 2026-11-04 09:00 UTC; nothing was done/);
    const expired = await expireRequests(h.deps);
    expect(expired.map((r) => r.id)).toContain(b.id);
    expect(expired.map((r) => r.id)).not.toContain(a.id);
    expect(expired.every((r) => r.status === 'expired')).toBe(true);
    expect(await expireRequests(h.deps)).toEqual([]);
    await h.run();
    expect(h.fake.requests.filter((r) => r.idempotencyKey === `approval:${a.id}:credit` || r.idempotencyKey === `approval:${b.id}:credit`)).toEqual([]);
  });

  it('a double submission of the same request is refused; a different one for the same customer is not', async () => {
    const c = (await h.seed('customers', fx.customer({ name: 'Twice Ltd', currency: 'usd' }))).id;
    const first = await createRequest(h.deps, credit(c, 20_000n));
    await expect(createRequest(h.deps, credit(c, 20_000n))).rejects.toThrow(`You already requested exactly this (request #${first.id}, pending).`);
    await expect(createRequest(h.deps, credit(c, 20_000n, 'USD', { note: 'and a second outage' }))).resolves.toMatchObject({ status: 'pending' });
  });
});

describe('amounts and inputs', () => {
  it('rejects zero, negative and over-MAX amounts on the amount field, and stores nothing', async () => {
    const before = await h.db.db.selectFrom('approval_requests').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    for (const amount of [0n, -1n, -25_000n, MAX_MINOR_UNITS + 1n]) {
      const err = await inputError(createRequest(h.deps, credit(usd, amount)));
      expect(err.field).toBe('amount');
    }
    expect((await inputError(createRequest(h.deps, credit(usd, 0n)))).message).toBe('A credit must be more than zero.');
    const after = await h.db.db.selectFrom('approval_requests').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it('stores JPY 500 and BHD 1.250 in their minor units and shows them right', async () => {
    const jpy = (await h.seed('customers', fx.customer({ name: 'Osaka Denki', currency: 'jpy' }))).id;
    const bhd = (await h.seed('customers', fx.customer({ name: 'Manama Trading', currency: 'bhd' }))).id;
    const y = await createRequest(h.deps, credit(jpy, 500n, 'jpy'));
    const b = await createRequest(h.deps, credit(bhd, 1250n, 'BHD'));
    expect(y).toMatchObject({ amount: { amount: 500n, currency: 'JPY' }, title: 'Credit ¥500 to Osaka Denki (Goodwill)' });
    expect(b).toMatchObject({ amount: { amount: 1250n, currency: 'BHD' }, title: 'Credit BHD 1.250 to Manama Trading (Goodwill)' });
    const rows = await h.db.db.selectFrom('approval_requests').select(['id', 'amount', 'currency']).where('id', 'in', [BigInt(y.id), BigInt(b.id)]).orderBy('id').execute();
    expect(rows.map((r) => [r.amount, r.currency])).toEqual([
      [500n, 'JPY'],
      [1250n, 'BHD'],
    ]);
    expect((await getRequest(h.db.db, b.id))?.params).toMatchObject({ action: 'credit', amount: 1250n, currency: 'BHD' });
  });

  it('names the field of each input mistake', async () => {
    const field = async (p: Promise<unknown>) => (await inputError(p)).field;
    expect(await field(createRequest(h.deps, credit(usd, 100n, 'EUR')))).toBe('currency');
    expect(await field(createRequest(h.deps, credit(usd, 100n, 'US')))).toBe('currency');
    expect(await field(createRequest(h.deps, credit(usd, 100n, 'USD', { reasonCode: 'because' })))).toBe('reason');
    expect(await field(createRequest(h.deps, credit(usd, 100n, 'USD', { note: '' })))).toBe('note');
    expect(await field(createRequest(h.deps, credit(usd, 100n, 'USD', { note: 'x'.repeat(2001) })))).toBe('note');
    expect(await field(createRequest(h.deps, credit('cus_nobody', 100n)))).toBe('customer');
    expect(reasonCodes(h.config).map((r) => r.code)).toEqual(['goodwill', 'service_outage', 'billing_error', 'sales_concession', 'duplicate_charge']);
  });

  it('checks subscription and invoice actions against the stored Stripe state', async () => {
    const cus = await h.seed('customers', fx.customer({ name: 'Initech', currency: 'usd' }));
    const active = await h.seed('subscriptions', fx.subscription({ customer: cus.id, status: 'active' }));
    const trial = await h.seed('subscriptions', fx.subscription({ customer: cus.id, status: 'trialing', trial_end: fx.unix('2026-11-10T00:00:00Z') }));
    const paid = await h.seed('invoices', fx.invoice({ customer: cus.id, status: 'paid', amount_due: 5000 }));
    const field = async (p: Promise<unknown>) => (await inputError(p)).field;
    const r = (params: Parameters<typeof createRequest>[1]['params']) => createRequest(h.deps, { params, requester: REQUESTER });
    expect(await field(r({ action: 'extend_trial', subscriptionId: active.id, trialEnd: new Date('2026-12-01'), note: 'n' }))).toBe('subscription');
    expect(await field(r({ action: 'extend_trial', subscriptionId: trial.id, trialEnd: new Date('2026-11-05'), note: 'n' }))).toBe('trial_end');
    expect(await field(r({ action: 'extend_trial', subscriptionId: trial.id, trialEnd: new Date('2029-01-01'), note: 'n' }))).toBe('trial_end');
    expect(await field(r({ action: 'extend_trial', subscriptionId: 'sub_nope', trialEnd: new Date('2026-12-01'), note: 'n' }))).toBe('subscription');
    expect(await field(r({ action: 'pause_collection', subscriptionId: active.id, behavior: 'sleep' as never, resumesAt: null, note: 'n' }))).toBe('behavior');
    expect(await field(r({ action: 'pause_collection', subscriptionId: active.id, behavior: 'void', resumesAt: new Date('2026-10-01'), note: 'n' }))).toBe('resumes_at');
    expect(await field(r({ action: 'resume_collection', subscriptionId: active.id, note: 'n' }))).toBe('subscription');
    expect(await field(r({ action: 'undo_cancel', subscriptionId: active.id, note: 'n' }))).toBe('subscription');
    expect(await field(r({ action: 'void_invoice', invoiceId: paid.id, note: 'n' }))).toBe('invoice');
    expect(await field(r({ action: 'mark_uncollectible', invoiceId: 'in_nope', note: 'n' }))).toBe('invoice');
    const ok = await r({ action: 'extend_trial', subscriptionId: trial.id, trialEnd: new Date('2026-11-24T00:00:00Z'), note: 'Pilot needs two more weeks' });
    expect(ok).toMatchObject({ status: 'pending', requiredApprovals: 1, customerLabel: 'Initech', amount: null, title: "Extend Initech's trial from 2026-11-10 to 2026-11-24" });
    await expect(r({ action: 'extend_trial', subscriptionId: trial.id, trialEnd: new Date('2026-11-30T00:00:00Z'), note: 'again' })).rejects.toThrow(
      new UserError(`There is already request #${ok.id} (pending) to extend trial on this; it has to finish first.`),
    );
  });
});

describe('lists, messages and the audit trail', () => {
  it('lists what waits for an approver (not their own, not approved by them yet) and a requester\'s open requests', async () => {
    const c = (await h.seed('customers', fx.customer({ name: 'Listed Co', currency: 'usd' }))).id;
    const mine = await createRequest(h.deps, { ...credit(c, 60_000n), requester: APPROVER_1 });
    const other = await createRequest(h.deps, { ...credit(c, 600_000n), requester: REQUESTER_2 });
    const forA1 = (await listAwaitingDecision(h.deps, APPROVER_1.userId, 100)).map((r) => r.id);
    expect(forA1).toContain(other.id);
    expect(forA1).not.toContain(mine.id);
    await decide(h.deps, { requestId: other.id, decision: 'approve', actor: APPROVER_1 });
    expect((await listAwaitingDecision(h.deps, APPROVER_1.userId, 100)).map((r) => r.id)).not.toContain(other.id);
    expect((await listAwaitingDecision(h.deps, APPROVER_2.userId, 100)).map((r) => r.id)).toContain(other.id);
    expect(await listAwaitingDecision(h.deps, OUTSIDER.userId)).toEqual([]);
    const byR2 = await listOpenRequestsBy(h.db.db, REQUESTER_2.userId, 50, h.clock);
    expect(byR2.map((r) => r.id)).toContain(other.id);
    expect(byR2.every((r) => r.requestedBy.userId === REQUESTER_2.userId)).toBe(true);

    await setRequestMessage(h.db.db, other.id, { channel: 'C0APR0001', ts: '1762000000.000200' });
    expect((await getRequest(h.db.db, other.id))?.message).toEqual({ channel: 'C0APR0001', ts: '1762000000.000200' });
    expect(await getRequest(h.db.db, 'not-an-id')).toBeNull();
    expect(await getRequest(h.db.db, '999999')).toBeNull();
  });

  it('audits request and decisions with the Slack user, team, channel and before/after', async () => {
    const req = await createRequest(h.deps, credit(usd, 70_000n, 'USD', { note: 'audited' }));
    await decide(h.deps, { requestId: req.id, decision: 'approve', actor: APPROVER_1 });
    const entries = await listAudit(h.db.db, { entity: { type: 'approval_request', id: req.id } });
    expect(entries.map((e) => e.action)).toEqual(['approval.requested', 'approval.approved']);
    expect(entries[0]).toMatchObject({
      actor: { kind: 'slack_user', id: REQUESTER.userId, name: 'riley' },
      source: 'slack',
      context: { team_id: 'T0TEST', channel_id: 'C0OPS0001' },
      after: { status: 'pending', amount: '70000', currency: 'USD', required_approvals: 1 },
    });
    expect(entries[1]).toMatchObject({
      actor: { kind: 'slack_user', id: APPROVER_1.userId },
      context: { team_id: 'T0TEST', channel_id: 'C0APR0001', message_ts: '1762000000.000100' },
      before: { status: 'pending', approvers: [] },
      after: { status: 'approved', approvers: [APPROVER_1.userId] },
    });
  });

  it('retry is for failed requests only, by the requester or an approver', async () => {
    const req = await createRequest(h.deps, credit(usd, 71_000n, 'USD', { note: 'retry' }));
    const early = await retryRequest(h.deps, { requestId: req.id, actor: APPROVER_2 });
    expect(early).toMatchObject({ outcome: 'refused', message: `Request #${req.id} has not been approved yet.` });
    const outsider = await retryRequest(h.deps, { requestId: req.id, actor: OUTSIDER });
    expect(outsider.outcome).toBe('refused');
    expect(outsider.message).toMatch(/Only the requester or an approver/);
  });
});
