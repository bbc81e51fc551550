/**
 * Acceptance 1: the collections job run every day at 09:00 in America/New_York over 45 days that
 * cross the end of daylight saving time (1 Nov 2026). Each invoice gets each step of its segment
 * exactly once, on the right day in the org time zone; an invoice paid on day 10 (through the webhook
 * path) gets nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import * as fx from '../support/stripe-fixtures.js';
import { COLLECTIONS_CHANNEL, FINANCE_CHANNEL, type Harness, LEAD, OWNER_A, OWNER_B, addDay, customerWith, nineAm, startHarness } from './helpers.js';

let h: Harness;
const A = 'in_CollEnterpriseA';
const B = 'in_CollSelfServeB';
const C = 'in_CollPaidEarlyC';
const FIRST_DAY = '2026-10-10';
const DAYS = 45;

beforeAll(async () => {
  h = await startHarness({ start: nineAm(FIRST_DAY).toISOString() });
  await h.seed('customers', customerWith('cus_CollA', 'Alder Industries', OWNER_A));
  await h.seed('customers', customerWith('cus_CollB', 'Birch Bakery', OWNER_B));
  await h.seed('customers', customerWith('cus_CollC', 'Cedar Clinics'));
  // Net terms, due 22:00 on 20 Oct in New York — already 21 Oct in UTC.
  await h.seed('invoices', fx.invoice({ id: A, customer: 'cus_CollA', collection_method: 'send_invoice', created: fx.unix('2026-09-20T15:00:00Z'), due_date: fx.unix('2026-10-21T02:00:00Z'), amount_due: 120_000 }));
  // Charged automatically at 23:30 on 11 Oct in New York (12 Oct in UTC), declined once, Stripe retrying.
  await h.seed(
    'invoices',
    fx.invoice({ id: B, customer: 'cus_CollB', created: fx.unix('2026-10-12T03:30:00Z'), amount_due: 4_900, attempt_count: 1, next_payment_attempt: fx.unix('2026-10-15T03:30:00Z') }),
  );
  await h.seed('invoices', fx.invoice({ id: C, customer: 'cus_CollC', collection_method: 'send_invoice', created: fx.unix('2026-09-15T16:00:00Z'), due_date: fx.unix('2026-10-15T16:00:00Z'), amount_due: 30_000 }));

  for (let i = 0; i < DAYS; i++) {
    const day = addDay(FIRST_DAY, i);
    if (i === 9) {
      // Day 10, 08:00: Stripe tells billops C was paid.
      h.clock.set(new Date(nineAm(day).getTime() - 3_600_000));
      const paid = fx.invoice({ id: C, customer: 'cus_CollC', collection_method: 'send_invoice', status: 'paid', created: fx.unix('2026-09-15T16:00:00Z'), due_date: fx.unix('2026-10-15T16:00:00Z'), amount_due: 30_000 });
      await h.webhook('invoice.paid', paid);
    }
    h.clock.set(nineAm(day));
    await h.run();
    // A second replica's tick (or a rerun) the same morning changes nothing.
    h.clock.set(new Date(nineAm(day).getTime() + 15 * 60_000));
    await h.run({ workerId: 'second-replica' });
  }
}, 120_000);
afterAll(async () => h.close());

describe('a 45-day dunning schedule in America/New_York, across the end of DST', () => {
  it('performs each step of each invoice once, on its day in the org time zone; the paid invoice stops', () => {
    const performed = h.seen.filter((o) => o.status === 'done').map((o) => [o.runDay, o.invoiceId, o.step.id]);
    expect(performed).toEqual([
      ['2026-10-12', B, 'payment_failed_1'],
      ['2026-10-12', C, 'due_soon'],
      ['2026-10-16', C, 'overdue_1'],
      ['2026-10-17', A, 'due_soon'],
      ['2026-10-18', B, 'payment_failed_7'],
      ['2026-10-21', A, 'overdue_1'],
      ['2026-10-25', B, 'escalate_owner'],
      ['2026-10-27', A, 'overdue_7'],
      ['2026-11-03', A, 'escalate_owner'],
      ['2026-11-10', B, 'formal'],
      ['2026-11-19', A, 'formal'],
    ]);
    expect(h.seen.filter((o) => o.status !== 'done')).toEqual([]);
  });

  it('reminds send_invoice customers through Stripe once per step with the step\'s idempotency key; card invoices only record Stripe\'s retries', async () => {
    expect(h.sendCalls()).toEqual([
      { invoiceId: C, key: `collections:${C}:due_soon` },
      { invoiceId: C, key: `collections:${C}:overdue_1` },
      { invoiceId: A, key: `collections:${A}:due_soon` },
      { invoiceId: A, key: `collections:${A}:overdue_1` },
      { invoiceId: A, key: `collections:${A}:overdue_7` },
    ]);
    const b1 = h.seen.find((o) => o.invoiceId === B && o.step.id === 'payment_failed_1');
    expect(b1?.effects).toEqual([
      expect.objectContaining({ effect: 'remind_customer', done: true, detail: expect.stringMatching(/^charged automatically: Stripe's retries remind the customer \(1 failed attempt, next attempt 2026-10-15T03:30:00.000Z\)/) }),
    ]);
  });

  it('sends each Slack message once: follow-ups to #collections, escalations to the owner, formal collections to #finance and the lead', () => {
    const dm = (u: string) => h.slack.dmChannelFor(u);
    const posts = h.posts();
    expect(posts.map((p) => p.channel)).toEqual([
      COLLECTIONS_CHANNEL, // B payment_failed_7
      dm(OWNER_B), COLLECTIONS_CHANNEL, // B escalate_owner
      COLLECTIONS_CHANNEL, // A overdue_7
      dm(OWNER_A), COLLECTIONS_CHANNEL, // A escalate_owner
      dm(LEAD), FINANCE_CHANNEL, // B formal
      dm(LEAD), FINANCE_CHANNEL, // A formal
    ]);
    const formalA = posts[9]?.text ?? '';
    expect(formalA).toContain('Collections · Formal collections (enterprise)');
    expect(formalA).toContain('Alder Industries (cus_CollA) owes $1,200.00 on invoice');
    expect(formalA).toContain('due 2026-10-20: 30 days overdue.');
    expect(formalA).toContain(`owner <@${OWNER_A}> · <@${LEAD}>`);
    expect(posts[4]?.text).toContain('due 2026-10-20: 14 days overdue.\nYou are the account owner: please reach out to the customer.');
    expect(posts[8]?.text).toContain('This account is now in formal collections.');
  });

  it('keeps one row per invoice and step, all done, and audits every step and the exit', async () => {
    const rows = await h.db.db.selectFrom('collection_steps').select(['invoice_id', 'step_id', 'status', 'claimed_on', 'attempts']).orderBy('claimed_on').orderBy('invoice_id').execute();
    expect(rows).toHaveLength(11);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['done']));
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    const audit = await listAudit(h.db.db);
    expect(audit.filter((a) => a.action === 'collections.step_performed')).toHaveLength(11);
    const left = audit.filter((a) => a.action === 'collections.invoice_left');
    expect(left.map((a) => [a.entity.id, a.source, (a.after as { status: string }).status])).toEqual([[C, 'webhook', 'paid']]);
    const exit = await h.db.db.selectFrom('collection_exits').selectAll().execute();
    expect(exit.map((e) => [e.invoice_id, e.via, e.status])).toEqual([[C, 'webhook', 'paid']]);
  });
});
