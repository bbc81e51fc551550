import { describe, expect, it } from 'vitest';
import { demoGlExport } from '../../src/ledger/index.js';
import { demoStripeDataset } from '../../src/stripe/index.js';
import { bytes, collect, config } from './helpers.js';

/** The demo's QuickBooks export, read back by the QuickBooks parser as billops.yml configures it. */
async function readBack() {
  const gl = demoGlExport(demoStripeDataset());
  const parsed = await collect(bytes(gl.csv, 4096), { config: config({ quickbooks: { credit_normal_accounts: ['^Subscription Revenue$'] } }) });
  return { gl, ...parsed };
}

describe('demo GL export (QuickBooks Transaction Detail by Account, October 2026)', () => {
  it('is a QuickBooks report the parser reads without a problem, every posting in October, debits equal to credits', async () => {
    const { gl, entries, errors } = await readBack();
    expect(errors).toEqual([]);
    expect(entries).toHaveLength(gl.postings);
    expect(gl.csv.split('\r\n').slice(0, 5)).toEqual([
      '\uFEFFDemo Co',
      'Transaction Detail by Account',
      'October 1-31, 2026',
      '',
      ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance',
    ]);
    expect(new Set(entries.map((e) => e.account))).toEqual(
      new Set(['Operating Checking', 'Accounts Receivable (A/R)', 'Stripe Clearing', 'Subscription Revenue', 'Stripe Fees']),
    );
    expect(entries.every((e) => e.date >= '2026-10-01' && e.date <= '2026-10-31' && e.currency === 'USD')).toBe(true);
    expect(entries.reduce((s, e) => s + e.amountMinor, 0n)).toBe(0n);
    expect(gl.csv).toMatch(/\r\nTotal for Stripe Fees,,,,,,,\$[\d,]+\.\d\d,\r\nTOTAL,/);
  });

  it('is the same bytes every time', () => {
    const data = demoStripeDataset();
    expect(demoGlExport(data).csv).toBe(demoGlExport(demoStripeDataset()).csv);
  });

  it('plants the discrepancies matching is meant to surface, each where it says', async () => {
    const data = demoStripeDataset();
    const { gl, entries } = await readBack();
    const byRef = (ref: string) => entries.filter((e) => e.reference === ref);
    const mentioning = (id: string) => entries.filter((e) => e.stripeIds.includes(id));
    const bt = (chargeId: string) => data.balanceTransactions.objects.find((b) => b.source === chargeId) as { amount: number; fee: number };
    expect(gl.discrepancies).toHaveLength(9);

    // A refund is missing from the GL.
    expect(mentioning('re_demo0000000001')).toEqual([]);
    // The voided invoice is still posted: A/R debit and revenue credit.
    expect(byRef('DEMO-0016').map((e) => [e.account, e.amountMinor])).toEqual([
      ['Accounts Receivable (A/R)', 25000n],
      ['Subscription Revenue', -25000n],
    ]);
    // The prorated upgrade: one A/R line against two revenue lines (credit for Starter, charge for Pro).
    const upgrade = byRef('DEMO-0030').filter((e) => e.transactionType === 'Invoice');
    expect(upgrade.map((e) => [e.account, e.amountMinor])).toEqual([
      ['Accounts Receivable (A/R)', 7631n],
      ['Subscription Revenue', 2493n],
      ['Subscription Revenue', -10124n],
    ]);
    // The EUR charge at the bank's rate: not what Stripe settled in USD.
    const eur = mentioning('ch_demo0000000027').find((e) => e.account === 'Stripe Clearing');
    expect(eur?.amountMinor).toBe(19464n);
    expect(bt('ch_demo0000000027').amount).toBe(19515);
    // One cent under Stripe's settlement on the JPY payment.
    expect(mentioning('ch_demo0000000018').find((e) => e.account === 'Stripe Clearing')?.amountMinor).toBe(BigInt(bt('ch_demo0000000018').amount - 1));
    // A manual journal.
    expect(byRef('JE-1031').map((e) => [e.transactionType, e.account])).toEqual([
      ['Journal Entry', 'Stripe Clearing'],
      ['Journal Entry', 'Stripe Fees'],
    ]);
    // Posted two days after the charge.
    const charge8 = data.events.find((e) => e.type === 'charge.succeeded' && (e.data as { object: { id: string } }).object.id === 'ch_demo0000000008');
    expect(new Date(((charge8?.data as { object: { created: number } }).object.created) * 1000).toISOString().slice(0, 10)).toBe('2026-10-05');
    expect(new Set(mentioning('ch_demo0000000008').filter((e) => e.transactionType === 'Payment').map((e) => e.date))).toEqual(new Set(['2026-10-07']));
    // A fee posted twice: same content, two line keys.
    const fee13 = entries.filter((e) => e.account === 'Stripe Fees' && e.stripeIds.includes('ch_demo0000000013'));
    expect(fee13.map((e) => e.amountMinor)).toEqual([BigInt(bt('ch_demo0000000013').fee), BigInt(bt('ch_demo0000000013').fee)]);
    expect(new Set(fee13.map((e) => e.lineKey)).size).toBe(2);
    // A typo: $94.00 for a $49.00 payment.
    expect(mentioning('ch_demo0000000003').find((e) => e.account === 'Stripe Clearing' && e.transactionType === 'Payment')?.amountMinor).toBe(9400n);
  });
});
