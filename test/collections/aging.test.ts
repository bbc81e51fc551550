/**
 * Acceptance 4: AR aging buckets and totals against a hand-computed fixture in three currencies, as of
 * 10 Nov 2026 in America/New_York: each currency summed on its own, and a reporting-currency total
 * only when org.fx_rates has rates (currencies without one left out and named). Also the failed
 * payments view.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgingReport, agingReport, failedPayments } from '../../src/collections/index.js';
import type { Config } from '../../src/config/index.js';
import { type Money, formatMoney } from '../../src/money/index.js';
import { normalizeObjects } from '../../src/stripe/index.js';
import { testConfig } from '../support/config.js';
import * as fx from '../support/stripe-fixtures.js';
import { BASE_YAML, type Harness, nineAm, startHarness } from './helpers.js';

let h: Harness;
const AS_OF = '2026-11-10';
const due = (day: string) => Math.floor(nineAm(day).getTime() / 1000);

beforeAll(async () => {
  h = await startHarness({ start: nineAm(AS_OF).toISOString() });
  const customers = [
    fx.customer({ id: 'cus_AgA', name: 'Aspen Audio' }),
    fx.customer({ id: 'cus_AgB', name: 'Basalt Books' }),
    fx.customer({ id: 'cus_AgC', name: 'Cypress Cargo' }),
    fx.customer({ id: 'cus_AgD', name: 'Dune Design GmbH', currency: 'eur' }),
    fx.customer({ id: 'cus_AgE', name: 'Edo Electric K.K.', currency: 'jpy' }),
  ];
  const sent = (id: string, customer: string, dueDay: number, amount: number, more: Partial<Parameters<typeof fx.invoice>[0]> = {}) =>
    fx.invoice({ id, customer, collection_method: 'send_invoice', created: fx.unix('2026-06-01T12:00:00Z'), due_date: dueDay, amount_due: amount, ...more });
  const invoices = [
    sent('in_u1', 'cus_AgA', due('2026-11-12'), 10_000), // current (due in 2 days)
    sent('in_u2', 'cus_AgA', due('2026-11-10'), 5_000), // current (due today)
    sent('in_u3', 'cus_AgA', due('2026-11-09'), 30_000, { amount_paid: 10_000 }), // 1 day: 1-30, $200.00 left
    sent('in_u4', 'cus_AgA', due('2026-10-11'), 30_000), // 30 days: 1-30
    sent('in_u5', 'cus_AgB', fx.unix('2026-10-11T03:00:00Z'), 40_000), // 23:00 on 10 Oct in New York: 31 days: 31-60
    sent('in_u6', 'cus_AgB', due('2026-09-11'), 50_000), // 60: 31-60
    sent('in_u7', 'cus_AgC', due('2026-09-10'), 60_000), // 61: 61-90
    sent('in_u8', 'cus_AgC', due('2026-08-12'), 70_000), // 90: 61-90
    sent('in_u9', 'cus_AgC', due('2026-08-11'), 80_000), // 91: 90+
    sent('in_e1', 'cus_AgB', due('2026-10-31'), 17_900, { currency: 'eur' }), // 10: 1-30
    sent('in_e2', 'cus_AgD', due('2026-07-01'), 100_000, { currency: 'eur' }), // 132: 90+
    // Charged automatically, no due date: due the day it was finalized (20 Oct in New York): 21 days, 1-30.
    fx.invoice({ id: 'in_j1', customer: 'cus_AgE', currency: 'jpy', created: fx.unix('2026-10-21T02:00:00Z'), amount_due: 25_000, attempt_count: 3, next_payment_attempt: null }),
    // Not owed: paid, void, written off, credited to nothing, draft.
    sent('in_x1', 'cus_AgA', due('2026-09-01'), 9_999, { status: 'paid' }),
    sent('in_x2', 'cus_AgA', due('2026-09-01'), 9_999, { status: 'void', amount_remaining: 0 }),
    sent('in_x3', 'cus_AgC', due('2026-07-01'), 9_999, { status: 'uncollectible' }),
    sent('in_x4', 'cus_AgC', due('2026-07-01'), 9_999, { amount_paid: 9_999 }),
    sent('in_x5', 'cus_AgC', due('2026-07-01'), 9_999, { status: 'draft' }),
  ];
  const failedCharges = [
    fx.charge({ id: 'ch_j1_a', customer: 'cus_AgE', currency: 'jpy', amount: 25_000, status: 'failed', created: fx.unix('2026-10-21T02:00:00Z'), invoice: 'in_j1' } as never),
    fx.charge({ id: 'ch_j1_b', customer: 'cus_AgE', currency: 'jpy', amount: 25_000, status: 'failed', created: fx.unix('2026-10-24T02:00:00Z'), invoice: 'in_j1', failure_code: 'insufficient_funds', failure_message: 'Your card has insufficient funds.' } as never),
  ];
  const at = new Date(fx.unix('2026-11-09T12:00:00Z') * 1000);
  await normalizeObjects(h.db.db, [...customers, ...invoices, ...failedCharges].map((o) => ({ object: fx.toWire(o), version: { at, eventId: null } })), at);
}, 60_000);
afterAll(async () => h.close());

const show = (list: Money[]) => list.map((m) => formatMoney(m)).join(' · ');
function table(r: AgingReport) {
  return r.buckets.map((b) => [b.bucket, b.count, show(b.amounts), b.reporting ? `${formatMoney(b.reporting.amount)}${b.reporting.missingRates.length ? ` w/o ${b.reporting.missingRates.join(',')}` : ''}` : null]);
}
const withRates = (rates: string): Config => testConfig({ yaml: BASE_YAML.replace('  timezone: America/New_York', `  timezone: America/New_York\n  fx_rates: ${rates}`) });

describe('AR aging', () => {
  it('buckets by days past the due day in the org time zone, each currency summed on its own', async () => {
    const r = await agingReport(h.deps);
    expect(r.asOf).toBe(AS_OF);
    expect(r.converted).toBe(false);
    expect(table(r)).toEqual([
      ['current', 2, '$150.00', null],
      ['1-30', 4, '€179.00 · ¥25,000 · $500.00', null],
      ['31-60', 2, '$900.00', null],
      ['61-90', 2, '$1,300.00', null],
      ['90+', 2, '€1,000.00 · $800.00', null],
    ]);
    expect([r.total.count, show(r.total.amounts), r.total.reporting]).toEqual([12, '€1,179.00 · ¥25,000 · $3,650.00', null]);
    expect([r.overdue.count, show(r.overdue.amounts)]).toEqual([10, '€1,179.00 · ¥25,000 · $3,500.00']);
  });

  it('adds reporting-currency totals when rates are configured, naming currencies without one', async () => {
    const eur = await agingReport({ ...h.deps, config: withRates('{ EUR: "1.08" }') });
    expect(table(eur)).toEqual([
      ['current', 2, '$150.00', '$150.00'],
      ['1-30', 4, '€179.00 · ¥25,000 · $500.00', '$693.32 w/o JPY'],
      ['31-60', 2, '$900.00', '$900.00'],
      ['61-90', 2, '$1,300.00', '$1,300.00'],
      ['90+', 2, '€1,000.00 · $800.00', '$1,880.00'],
    ]);
    expect(eur.total.reporting).toEqual({ amount: { amount: 492_332n, currency: 'USD' }, missingRates: ['JPY'] });
    const both = await agingReport({ ...h.deps, config: withRates('{ EUR: "1.08", JPY: "0.0066" }') });
    expect(both.total.reporting).toEqual({ amount: { amount: 508_832n, currency: 'USD' }, missingRates: [] });
    expect(both.topOverdue.map((t) => [t.customerId, formatMoney(t.amount), t.reporting ? formatMoney(t.reporting) : null, t.invoices, t.oldestDaysPastDue])).toEqual([
      ['cus_AgC', '$2,100.00', '$2,100.00', 3, 91],
      ['cus_AgD', '€1,000.00', '$1,080.00', 1, 132],
      ['cus_AgB', '$900.00', '$900.00', 2, 60],
      ['cus_AgA', '$500.00', '$500.00', 2, 30],
      ['cus_AgB', '€179.00', '$193.32', 1, 10],
      ['cus_AgE', '¥25,000', '$165.00', 1, 21],
    ]);
  });

  it('without a rate, accounts in other currencies follow the reporting currency\'s, longest past due first', async () => {
    const r = await agingReport(h.deps, { top: 10 });
    expect(r.topOverdue.map((t) => [t.customerId, formatMoney(t.amount)])).toEqual([
      ['cus_AgC', '$2,100.00'],
      ['cus_AgB', '$900.00'],
      ['cus_AgA', '$500.00'],
      ['cus_AgD', '€1,000.00'],
      ['cus_AgE', '¥25,000'],
      ['cus_AgB', '€179.00'],
    ]);
  });

  it('filters by bucket or customer and lists those invoices, oldest first', async () => {
    const b = await agingReport(h.deps, { bucket: '31-60' });
    expect(table(b)).toEqual([['31-60', 2, '$900.00', null]]);
    expect(b.invoices.map((i) => [i.invoiceId, i.dueOn, i.daysPastDue])).toEqual([
      ['in_u6', '2026-09-11', 60],
      ['in_u5', '2026-10-10', 31],
    ]);
    expect(b.topOverdue.map((t) => t.customerId)).toEqual(['cus_AgB']);
    const c = await agingReport(h.deps, { customerId: 'cus_AgA' });
    expect(table(c).map((x) => [x[0], x[1]])).toEqual([['current', 2], ['1-30', 2], ['31-60', 0], ['61-90', 0], ['90+', 0]]);
    expect(c.invoices.map((i) => [i.invoiceId, formatMoney(i.amountRemaining), i.bucket])).toEqual([
      ['in_u4', '$300.00', '1-30'],
      ['in_u3', '$200.00', '1-30'],
      ['in_u2', '$50.00', 'current'],
      ['in_u1', '$100.00', 'current'],
    ]);
  });
});

describe('failed payments', () => {
  it('lists owed invoices with failed attempts: retry state, last decline and the charges tried', async () => {
    const list = await failedPayments(h.deps);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      invoiceId: 'in_j1',
      customerName: 'Edo Electric K.K.',
      dueOn: '2026-10-20',
      daysPastDue: 21,
      attemptCount: 3,
      retryState: 'retries_exhausted',
      lastDecline: { chargeId: 'ch_j1_b', code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
      dunning: { lastStep: null, paused: null },
    });
    expect(list[0]?.attempts.map((a) => [a.chargeId, a.status, formatMoney(a.amount)])).toEqual([
      ['ch_j1_b', 'failed', '¥25,000'],
      ['ch_j1_a', 'failed', '¥25,000'],
    ]);
  });
});
