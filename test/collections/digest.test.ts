/**
 * The dunning digest's data (what the Slack side renders) and the webhook exit: an invoice paid or
 * voided while a step waits for a retry leaves collections at once, recorded and audited once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import { collectionsDigest, describeDigest, invoiceDunning, pauseCollections } from '../../src/collections/index.js';
import { formatMoney } from '../../src/money/index.js';
import * as fx from '../support/stripe-fixtures.js';
import { type Harness, OWNER_A, OWNER_B, addDay, customerWith, nineAm, startHarness } from './helpers.js';

const TODAY = '2026-11-10';
let h: Harness;
const due = (daysAgo: number) => Math.floor(nineAm(addDay(TODAY, -daysAgo)).getTime() / 1000);
const sent = (id: string, customer: string, daysAgo: number, amount: number) =>
  fx.invoice({ id, customer, collection_method: 'send_invoice', created: fx.unix('2026-07-01T12:00:00Z'), due_date: due(daysAgo), amount_due: amount });

beforeAll(async () => {
  h = await startHarness({ start: nineAm(TODAY).toISOString() });
  await h.seed('customers', customerWith('cus_DgA', 'Larch Legal', OWNER_A));
  await h.seed('customers', customerWith('cus_DgB', 'Maple Media', OWNER_B));
  await h.seed('customers', customerWith('cus_DgC', 'Nettle Networks'));
  await h.seed('customers', customerWith('cus_DgD', 'Oak Optics'));
  await h.seed('invoices', sent('in_DgFormal', 'cus_DgA', 35, 900_000)); // formal today
  await h.seed('invoices', sent('in_DgEsc', 'cus_DgB', 14, 300_000)); // escalate_owner today
  await h.seed('invoices', sent('in_DgFollow', 'cus_DgC', 7, 50_000)); // overdue_7 today, its post will fail
  await h.seed('invoices', sent('in_DgHeld', 'cus_DgD', 9, 70_000)); // on hold
  h.clock.set(new Date(nineAm(TODAY).getTime() - 3_600_000));
  await pauseCollections(h.deps, { customerId: 'cus_DgD', until: addDay(TODAY, 4), note: 'Paying Friday', actor: { kind: 'cli', id: 'ops' }, source: 'cli' });
  h.clock.set(nineAm(TODAY));
  // The follow-up's channel post is refused by Slack (after its Stripe reminder went out).
  h.slack.handle('chat.postMessage', (args) => (args['text'] as string).includes('Nettle Networks') && args['channel'] === 'C0COLLECT1' ? { ok: false, error: 'is_archived' } : { ok: true, channel: String(args['channel']).startsWith('U') ? h.slack.dmChannelFor(String(args['channel'])) : args['channel'], ts: `${Date.now() / 1000}` });
  await h.run();
}, 60_000);
afterAll(async () => h.close());

describe('the dunning digest', () => {
  it('shows the steps entered today by segment and step, escalations, holds, failures and aging', async () => {
    const d = await collectionsDigest(h.deps);
    expect(d.day).toBe(TODAY);
    expect(d.stepsToday.map((g) => [g.segment, g.step.id, g.count, g.amounts.map((m) => formatMoney(m)).join(' · '), g.items.map((i) => [i.invoiceId, i.status, i.daysPastDue])])).toEqual([
      ['enterprise', 'overdue_7', 1, '$500.00', [['in_DgFollow', 'failed', 7]]],
      ['enterprise', 'escalate_owner', 1, '$3,000.00', [['in_DgEsc', 'done', 14]]],
      ['enterprise', 'formal', 1, '$9,000.00', [['in_DgFormal', 'done', 35]]],
    ]);
    expect(d.skippedToday).toBe(2 + 3 + 4);
    expect(d.escalations.map((e) => [e.invoiceId, e.step.id, e.step.kind, e.since, e.owner])).toEqual([
      ['in_DgFormal', 'formal', 'formal', TODAY, OWNER_A],
      ['in_DgEsc', 'escalate_owner', 'escalation', TODAY, OWNER_B],
    ]);
    expect(d.paused).toEqual([
      expect.objectContaining({ customerId: 'cus_DgD', kind: 'promise_to_pay', until: '2026-11-14', resumesOn: '2026-11-15', invoices: 1, amounts: [{ amount: 70_000n, currency: 'USD' }] }),
    ]);
    expect(d.failing.map((f) => [f.invoiceId, f.step.id, f.attempts, f.effectsDone, f.error])).toEqual([
      ['in_DgFollow', 'overdue_7', 1, ['remind_customer'], expect.stringContaining('is_archived')],
    ]);
    expect(d.aging.buckets.map((b) => [b.bucket, b.count])).toEqual([['current', 0], ['1-30', 3], ['31-60', 1], ['61-90', 0], ['90+', 0]]);
    expect(d.aging.topOverdue[0]).toMatchObject({ customerId: 'cus_DgA', oldestDaysPastDue: 35 });
    const text = describeDigest(d).join('\n');
    expect(text).toContain('  Formal collections (enterprise) — 1 invoice, $9,000.00');
    expect(text).toContain('Oak Optics                   promise to pay until 2026-11-14 (dunning resumes 2026-11-15) · 1 open invoice $700.00');
    expect(text).toMatch(/Failing, retried on the next run:\n {2}ABC-\d{4} {5}Follow-up: 7 days overdue \(attempt 1\): post_channel: An API error occurred: is_archived/);
  });
});

describe('leaving collections through the webhook path', () => {
  it('closes the step waiting for a retry and records the exit once, in the event\'s transaction', async () => {
    h.clock.set(new Date(nineAm(TODAY).getTime() + 2 * 3_600_000));
    const voided = { ...sent('in_DgFollow', 'cus_DgC', 7, 50_000), status: 'void' as const, amount_remaining: 0 };
    await h.webhook('invoice.voided', voided);
    await h.webhook('invoice.voided', voided);
    const history = await invoiceDunning(h.db.db, 'in_DgFollow');
    expect(history.steps.map((s) => [s.stepId, s.status, s.reason])).toEqual([
      ['due_soon', 'skipped', 'caught up: overdue_7 was due'],
      ['overdue_1', 'skipped', 'caught up: overdue_7 was due'],
      ['overdue_7', 'closed', 'invoice void'],
    ]);
    expect(history.exit).toMatchObject({ status: 'void', via: 'webhook' });
    const left = (await listAudit(h.db.db, { action: 'collections.invoice_left' })).map((a) => [a.entity.id, a.source, a.after]);
    expect(left).toEqual([['in_DgFollow', 'webhook', { in_collections: false, status: 'void', amount_remaining: '0', currency: 'USD', closed_steps: ['overdue_7'] }]]);
    // The next run does not retry it, and the digest lists it as having left today.
    h.clock.set(nineAm(addDay(TODAY, 1)));
    const s = await h.run();
    expect(s.outcomes.map((o) => o.invoiceId)).not.toContain('in_DgFollow');
    h.clock.set(new Date(nineAm(TODAY).getTime() + 3 * 3_600_000));
    expect((await collectionsDigest(h.deps)).leftToday).toEqual([expect.objectContaining({ invoiceId: 'in_DgFollow', status: 'void', via: 'webhook' })]);
  });
});
