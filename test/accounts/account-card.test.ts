import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountNotFoundError, accountCard, findAccounts, monthlyAmount } from '../../src/accounts/index.js';
import { reconcile } from '../../src/matching/index.js';
import { formatMoney } from '../../src/money/index.js';
import { UserError } from '../../src/util/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { ACME, ACME_OLD, ACME_ROCKETS, SCRIPT, SCRIPT_TOO, TANAKA, UMBRELLA, seedAccounts } from './helpers.js';

/**
 * The account card as billing ops reads it: who the customer is, what they pay a month, what they
 * owe and are owed, what failed, what is disputed, what billops flagged, and what happened lately.
 */

const config = testConfig();
let db: TestDb;

beforeAll(async () => {
  db = await createTestDb();
  await seedAccounts(db.db);
  // The exceptions the card lists come from a real reconcile over the same data (no GL: all missing).
  await reconcile(db.db, {
    file: config.file,
    matching: config.file.matching,
    clock: new ManualClock(),
    actor: { kind: 'scheduler', id: 'reconcile' },
    source: 'scheduler',
  });
});
afterAll(async () => {
  await db.cleanup();
});

const card = (id: string, clock = new ManualClock()) => accountCard(db.db, id, { clock, config });
const fmt = (m: { amount: bigint; currency: string } | null) => (m ? formatMoney(m) : null);

describe('monthlyAmount', () => {
  it('normalizes every interval to a month, rounding half-even once', () => {
    expect(monthlyAmount(4900n, 3n, 'month')).toBe(14700n);
    expect(monthlyAmount(199000n, 1n, 'year')).toBe(16583n); // 16,583.33
    expect(monthlyAmount(1000n, 2n, 'week')).toBe(8667n); // 2,000 × 52 / 12 = 8,666.67
    expect(monthlyAmount(30000n, 1n, 'month', 3)).toBe(10000n);
    expect(monthlyAmount(700n, 1n, 'day')).toBe(21292n); // 700 × 365 / 12 = 21,291.67
    expect(monthlyAmount(100014n, 1n, 'year')).toBe(8334n); // 8,334.5 → the even neighbour
    expect(monthlyAmount(100026n, 1n, 'year')).toBe(8336n); // 8,335.5 → the even neighbour
  });
});

describe('findAccounts', () => {
  it('finds a customer by Stripe id, exactly', async () => {
    const r = await findAccounts(db.db, ` ${TANAKA} `);
    expect(r).toMatchObject({ query: TANAKA, searchedBy: 'id', total: 1 });
    expect(r.matches.map((m) => m.name)).toEqual(['Tanaka Kogyo KK']);
    expect((await findAccounts(db.db, 'cus_Nobody0000')).total).toBe(0);
    // An id is never a prefix search.
    expect((await findAccounts(db.db, 'cus_Acme')).total).toBe(0);
  });

  it('finds by email in any case, and returns every customer sharing it', async () => {
    const one = await findAccounts(db.db, 'KEIRI@tanaka.EXAMPLE');
    expect(one.searchedBy).toBe('email');
    expect(one.matches.map((m) => m.id)).toEqual([TANAKA]);
    const shared = await findAccounts(db.db, 'billing@acme.example');
    expect(shared.total).toBe(2);
    // Newest customer first.
    expect(shared.matches.map((m) => m.id)).toEqual([ACME, ACME_OLD]);
  });

  it('finds names starting with the text first, and names containing it only when none start with it', async () => {
    const acme = await findAccounts(db.db, 'acme');
    expect(acme).toMatchObject({ searchedBy: 'name', nameMatch: 'prefix', total: 3 });
    expect(acme.matches.map((m) => m.name)).toEqual(['Acme Corp', 'Acme Holdings', 'ACME Rockets']);
    expect(acme.matches.map((m) => m.id)).toEqual([ACME, ACME_OLD, ACME_ROCKETS]);

    const inside = await findAccounts(db.db, 'kogyo');
    expect(inside).toMatchObject({ nameMatch: 'substring', total: 1 });
    expect(inside.matches.map((m) => m.id)).toEqual([TANAKA]);

    // Wildcards typed by a person are plain characters.
    expect((await findAccounts(db.db, 'ac%')).total).toBe(0);
    expect((await findAccounts(db.db, '_cme')).total).toBe(0);
    expect((await findAccounts(db.db, '<script>a')).matches.map((m) => m.id)).toEqual([SCRIPT]);
    expect((await findAccounts(db.db, '<SCRIPT>')).matches.map((m) => m.id)).toEqual([SCRIPT_TOO, SCRIPT]);
  });

  it('cuts long lists but says how many there are', async () => {
    const r = await findAccounts(db.db, 'acme', { limit: 2 });
    expect(r.matches).toHaveLength(2);
    expect(r.total).toBe(3);
  });

  it('refuses an empty lookup', async () => {
    await expect(findAccounts(db.db, '   ')).rejects.toThrow(UserError);
  });

  it('uses the name index for the prefix search', async () => {
    // Make the planner prefer an index even on a tiny table, then look at the plan.
    const plan = await db.db.connection().execute(async (conn) => {
      await sql`set enable_seqscan = off`.execute(conn);
      try {
        const r = await sql<{ 'QUERY PLAN': string }>`explain select id from stripe_customers where lower(name) like ${'acme%'} escape '\\'`.execute(conn);
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`reset enable_seqscan`.execute(conn);
      }
    });
    expect(plan).toContain('stripe_customers_name_prefix_idx');
  });
});

describe('accountCard', () => {
  it('says who the customer is and reads a negative Stripe balance as credit the customer has', async () => {
    const c = await card(ACME);
    expect(c.customer).toMatchObject({ id: ACME, name: 'Acme Corp', email: 'Billing@Acme.example', currency: 'USD', delinquent: true, deleted: false });
    expect(fmt(c.balance.stripeBalance)).toBe('-$50.00');
    expect(fmt(c.balance.credit)).toBe('$50.00');
    expect(c.balance.owed).toBeNull();

    const t = await card(TANAKA);
    expect(t.balance).toMatchObject({ credit: null, owed: null });
  });

  it('computes MRR per subscription and in total: monthly × seats, yearly / 12, weekly × 52 / 12, quarterly / 3; trials and canceled ones excluded', async () => {
    const c = await card(ACME);
    const byId = new Map(c.subscriptions.items.map((s) => [s.id, s]));
    expect(fmt(byId.get('sub_AcmeStarter')?.mrr ?? null)).toBe('$147.00');
    expect(fmt(byId.get('sub_AcmeAnnual')?.mrr ?? null)).toBe('$165.83');
    expect(fmt(byId.get('sub_AcmeWeekly')?.mrr ?? null)).toBe('$86.67');
    expect(fmt(byId.get('sub_AcmeQuarter')?.mrr ?? null)).toBe('$100.00');
    expect(byId.get('sub_AcmeTrial')).toMatchObject({ status: 'trialing', mrr: null, mrrExcluded: 'trialing', plan: 'Business' });
    expect(byId.get('sub_AcmeTrial')?.trialEnd).toEqual(new Date('2026-11-15T09:00:00Z'));
    expect(byId.get('sub_AcmeOld')).toMatchObject({ status: 'canceled', mrr: null, mrrExcluded: 'not_active' });
    // 147.00 + 165.83 + 86.67 + 100.00
    expect(c.mrr.map(fmt)).toEqual(['$499.50']);

    expect(byId.get('sub_AcmeStarter')).toMatchObject({ plan: 'Starter', interval: 'month', intervalCount: 1, quantity: 3n, extraItems: 0, hasDiscount: false });
    expect(fmt(byId.get('sub_AcmeStarter')?.unitPrice ?? null)).toBe('$49.00');
    expect(byId.get('sub_AcmeStarter')?.currentPeriodEnd).toEqual(new Date('2026-12-01T09:00:00Z'));
    // Paying ones first, then the trial, then the canceled one.
    expect(c.subscriptions.items.map((s) => s.status)).toEqual(['active', 'active', 'active', 'active', 'trialing', 'canceled']);
    expect(c.subscriptions.total).toBe(6);
  });

  it('counts subscriptions canceling at period end, with collection paused, or past due; not paused or usage-based ones', async () => {
    const c = await card(UMBRELLA);
    const byId = new Map(c.subscriptions.items.map((s) => [s.id, s]));
    expect(byId.get('sub_UmbrellaEnding')).toMatchObject({ cancelAtPeriodEnd: true, mrr: { amount: 10000n, currency: 'USD' }, mrrExcluded: null });
    expect(byId.get('sub_UmbrellaPaused')).toMatchObject({ status: 'paused', mrr: null, mrrExcluded: 'not_active' });
    expect(byId.get('sub_UmbrellaHold')).toMatchObject({
      mrr: { amount: 2000n, currency: 'USD' },
      collectionPaused: { behavior: 'keep_as_draft', resumesAt: new Date('2026-11-11T09:00:00Z') },
    });
    expect(byId.get('sub_UmbrellaLate')).toMatchObject({ status: 'past_due', mrr: { amount: 3000n, currency: 'USD' }, hasDiscount: true });
    expect(byId.get('sub_UmbrellaUsage')).toMatchObject({ mrr: null, mrrExcluded: 'usage_based' });
    // 100.00 + 20.00 + 30.00 (list price: the coupon is not taken off)
    expect(c.mrr.map(fmt)).toEqual(['$150.00']);
    // A positive Stripe balance is owed by the customer, not credit.
    expect(c.balance).toMatchObject({ credit: null, owed: { amount: 2500n, currency: 'USD' } });
  });

  it('keeps a zero-decimal currency in whole yen', async () => {
    const c = await card(TANAKA);
    // ¥25,000 × 2 + ¥100,014 / 12 (8,334.5 → 8,334)
    expect(c.mrr).toEqual([{ amount: 58334n, currency: 'JPY' }]);
    expect(c.mrr.map(fmt)).toEqual(['¥58,334']);
  });

  it('lists open invoices with where their payment stands, and days overdue from the clock', async () => {
    const clock = new ManualClock();
    const c = await card(ACME, clock);
    expect(c.openInvoices.total).toBe(2);
    expect(c.openInvoices.outstanding.map(fmt)).toEqual(['$1,347.00']);
    const [sent, retried] = c.openInvoices.items;
    expect(sent).toMatchObject({ number: 'ACME-0001', paymentStatus: 'overdue', daysOverdue: 10, attemptCount: 0, lastDecline: null });
    expect(fmt(sent?.amountRemaining ?? null)).toBe('$1,200.00');
    expect(retried).toMatchObject({
      number: 'ACME-0002',
      paymentStatus: 'retrying',
      dueDate: null,
      daysOverdue: null,
      attemptCount: 2,
      nextPaymentAttempt: new Date('2026-11-03T09:00:00Z'),
      lastDecline: { chargeId: 'ch_AcmeFail2', code: 'insufficient_funds', message: 'Your card has insufficient funds.', at: new Date('2026-10-30T09:00:00Z') },
    });

    clock.advanceDays(5);
    const later = await card(ACME, clock);
    expect(later.openInvoices.items[0]?.daysOverdue).toBe(15);
  });

  it('shows every failed charge, newest first, with its decline and the invoice it was for', async () => {
    const c = await card(ACME);
    expect(c.failedPayments.total).toBe(2);
    expect(c.failedPayments.items).toEqual([
      expect.objectContaining({
        chargeId: 'ch_AcmeFail2',
        failureCode: 'insufficient_funds',
        failureMessage: 'Your card has insufficient funds.',
        paymentMethod: 'visa •••• 4242',
        invoiceNumber: 'ACME-0002',
        at: new Date('2026-10-30T09:00:00Z'),
      }),
      expect.objectContaining({ chargeId: 'ch_AcmeFail1', failureCode: 'card_declined', failureMessage: 'Your card was declined.', invoiceNumber: 'ACME-0002' }),
    ]);
    expect(fmt(c.failedPayments.items[0]?.amount ?? null)).toBe('$147.00');
  });

  it('flags the open dispute first, with its evidence deadline, and keeps the won one below it', async () => {
    const c = await card(ACME);
    expect(c.disputes).toMatchObject({ total: 2, open: 1 });
    expect(c.disputes.items[0]).toMatchObject({
      id: 'dp_AcmeOpen',
      chargeId: 'ch_AcmePaid',
      status: 'needs_response',
      reason: 'fraudulent',
      open: true,
      needsResponse: true,
      evidenceDueBy: new Date('2026-11-07T09:00:00Z'),
      daysToRespond: 6,
    });
    expect(fmt(c.disputes.items[0]?.amount ?? null)).toBe('$199.00');
    expect(c.disputes.items[1]).toMatchObject({ id: 'dp_AcmeWon', status: 'won', open: false, needsResponse: false, daysToRespond: null });
  });

  it("lists this customer's exceptions that still need a person, and no one else's", async () => {
    const c = await card(ACME);
    expect(c.exceptions.total).toBeGreaterThan(0);
    expect(new Set(c.exceptions.items.map((e) => e.customerId))).toEqual(new Set([ACME]));
    const kinds = c.exceptions.items.map((e) => e.kind);
    expect(kinds).toContain('failed_payment');
    expect(kinds).toContain('dispute_open');
    const all = await sql<{ n: bigint }>`select count(*) as n from exceptions where customer_id = ${ACME} and status in ('open', 'assigned', 'snoozed', 'reopened')`.execute(db.db);
    expect(BigInt(c.exceptions.total)).toBe(all.rows[0]?.n);

    const t = await card(TANAKA);
    expect(t.exceptions).toEqual({ items: [], total: 0 });
  });

  it('merges invoices, payments, refunds, disputes and credit notes into a timeline of the last 10 events, newest first', async () => {
    const c = await card(ACME);
    expect(c.timeline.map((e) => `${e.kind}:${e.event}:${e.objectId}`)).toEqual([
      'dispute:opened:dp_AcmeOpen',
      'payment:failed:ch_AcmeFail2',
      'refund:succeeded:re_AcmePart',
      'credit_note:issued:cn_AcmeSent',
      'invoice:finalized:in_AcmeRetry',
      'payment:failed:ch_AcmeFail1',
      'invoice:paid:in_AcmePaid',
      'invoice:finalized:in_AcmePaid',
      'payment:succeeded:ch_AcmePaid',
      'invoice:finalized:in_AcmeSent',
    ]);
    expect(c.timeline[0]).toMatchObject({ at: new Date('2026-10-31T09:00:00Z'), detail: 'fraudulent · needs_response' });
    expect(c.timeline[1]?.detail).toBe('Your card has insufficient funds.');
    expect(c.timeline[3]).toMatchObject({ reference: 'ACME-0001-CN-01', amount: { amount: 1000n, currency: 'USD' } });
  });

  it('says clearly when the customer is not known', async () => {
    await expect(card('cus_Nobody0000')).rejects.toThrow(AccountNotFoundError);
    await expect(card('cus_Nobody0000')).rejects.toThrow('No Stripe customer cus_Nobody0000 is known to billops');
  });
});
