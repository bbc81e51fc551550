import { convertMinor, formatMoney, minorToDecimal } from '../money/index.js';
import type { DemoCustomer, DemoStripeDataset } from '../stripe/index.js';

/**
 * The demo month's general ledger as the bookkeeper's QuickBooks Online would export it: a
 * "Transaction Detail by Account" report for October 2026 (CSV, books in USD), built from the Stripe
 * demo dataset the way a small SaaS company books Stripe by hand or through a sync:
 *
 * - Invoice: A/R debit, Subscription Revenue credit (one revenue line per invoice line).
 * - Payment: Stripe Clearing debit (the charge, in USD as Stripe settled it), A/R credit.
 * - Stripe fee per charge: Stripe Fees debit, Stripe Clearing credit.
 * - Payout: Operating Checking debit, Stripe Clearing credit, on the day it arrives.
 * - Chargeback: A/R and Stripe Fees debit, Stripe Clearing credit. Credit note and write-off:
 *   credit memos against revenue.
 *
 * And, deliberately, the mistakes real books have, for the matching step to find (`discrepancies`
 * says which rows): a refund never booked, a voided invoice still posted, a prorated upgrade posted
 * as separate revenue lines, a EUR charge converted at the bank's rate rather than Stripe's, a manual
 * journal, a one-cent rounding difference, a payment booked two days late, a fee posted twice, and a
 * typo in an amount.
 *
 * Pure and deterministic: the same dataset gives the same bytes.
 */

export interface DemoGlExport {
  fileName: string;
  csv: string;
  /** Postings in the report (rows under the account sections). */
  postings: number;
  /** What was planted, in words, with the transaction it is on. */
  discrepancies: string[];
}

type Json = Record<string, unknown>;

/** Sections in QuickBooks' order (bank, A/R, other current assets, income, expenses). */
const ACCOUNTS = {
  checking: 'Operating Checking',
  receivable: 'Accounts Receivable (A/R)',
  clearing: 'Stripe Clearing',
  revenue: 'Subscription Revenue',
  fees: 'Stripe Fees',
} as const;
type Account = (typeof ACCOUNTS)[keyof typeof ACCOUNTS];
const SECTION_ORDER: readonly Account[] = [ACCOUNTS.checking, ACCOUNTS.receivable, ACCOUNTS.clearing, ACCOUNTS.revenue, ACCOUNTS.fees];
/** QuickBooks shows income credit-positive; every other account here debit-positive. */
const CREDIT_NORMAL: ReadonlySet<Account> = new Set([ACCOUNTS.revenue]);

/** The EUR reference rate the bookkeeper took from the bank that day, instead of Stripe's. */
const BANK_EUR_RATE = '1.0874';

interface Line {
  account: Account;
  /** Debit positive, USD cents. */
  amount: bigint;
  memo: string;
}

interface Txn {
  /** YYYY-MM-DD */
  date: string;
  type: string;
  num: string;
  name: string;
  lines: Line[];
  /** Orders transactions of one day. */
  order: number;
}

function day(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function usDate(date: string): string {
  return `${date.slice(5, 7)}/${date.slice(8, 10)}/${date.slice(0, 4)}`;
}

function plain(cents: bigint): string {
  const neg = cents < 0n;
  const [whole = '0', frac = '00'] = minorToDecimal(neg ? -cents : cents, 'USD').split('.');
  return `${neg ? '-' : ''}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}

/** "$1,234.56" / "-$1,234.56", as the report's total rows print them. */
function dollars(cents: bigint): string {
  const p = plain(cents);
  return p.startsWith('-') ? `-$${p.slice(1)}` : `$${p}`;
}

function cell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Transposes the first two digits of the whole part: 49.00 → 94.00, 199.00 → 919.00. */
function typo(cents: bigint): bigint {
  const whole = (cents / 100n).toString();
  if (whole.length < 2 || whole[0] === whole[1]) return cents + 900n;
  return BigInt(`${whole[1]}${whole[0]}${whole.slice(2)}`) * 100n + (cents % 100n);
}

/** Last state of every object the events carry, by id (events are oldest first). */
function latest(data: DemoStripeDataset, object: string): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const e of data.events) {
    const o = (e.data as { object: Json }).object;
    if (o.object === object) out.set(o.id as string, o);
  }
  return out;
}

export function demoGlExport(data: DemoStripeDataset, companyName = 'Demo Co'): DemoGlExport {
  const invoices = [...latest(data, 'invoice').values()].sort((a, b) => String(a.number).localeCompare(String(b.number)));
  const charges = latest(data, 'charge');
  const refunds = latest(data, 'refund');
  const payouts = [...latest(data, 'payout').values()].filter((p) => p.status === 'paid');
  const creditNotes = [...latest(data, 'credit_note').values()];
  const disputes = [...latest(data, 'dispute').values()];
  const bts = new Map(data.balanceTransactions.objects.map((b) => [b.id as string, b]));
  const customers = new Map<string, DemoCustomer>(data.customers.map((c) => [c.id, c]));
  /** payment intent → invoice id, from invoice payments. */
  const invoiceOfIntent = new Map<string, string>();
  for (const p of latest(data, 'invoice_payment').values()) {
    invoiceOfIntent.set((p.payment as { payment_intent: string }).payment_intent, p.invoice as string);
  }
  /** invoice id → its succeeded charge. */
  const chargeOf = new Map<string, Json>();
  for (const ch of charges.values()) {
    if (ch.status !== 'succeeded') continue;
    const inv = invoiceOfIntent.get(ch.payment_intent as string);
    if (inv) chargeOf.set(inv, ch);
  }
  const settledUsd = (ch: Json): bigint => BigInt((bts.get(ch.balance_transaction as string)?.amount as number | undefined) ?? 0);

  const story = (inv: Json) => customers.get(inv.customer as string)?.story;
  const paidUsdRenewals = invoices.filter((i) => i.status === 'paid' && i.currency === 'usd' && story(i) === 'renews' && chargeOf.has(i.id as string));
  const pick = (pred: (i: Json) => boolean, taken: Set<string>) => {
    const found = paidUsdRenewals.find((i) => pred(i) && !taken.has(i.id as string));
    if (!found) throw new Error('the Stripe demo dataset has fewer clean renewals than the GL export plants discrepancies on');
    taken.add(found.id as string);
    return found;
  };
  const taken = new Set<string>();
  const typoInvoice = pick((i) => i.total === 4900, taken);
  const lateInvoice = pick((i) => i.total === 19900, taken);
  const doubledFeeInvoice = pick((i) => (i.total as number) >= 49900, taken);
  const eurInvoice = invoices.find((i) => i.currency === 'eur' && i.status === 'paid' && chargeOf.has(i.id as string));
  const jpyInvoice = invoices.find((i) => i.currency === 'jpy' && i.status === 'paid' && chargeOf.has(i.id as string));

  const txns: Txn[] = [];
  const discrepancies: string[] = [];
  let order = 0;
  const add = (t: Omit<Txn, 'order'>) => txns.push({ ...t, order: order++ });

  /** The invoice in USD: what its charge settled at, or the customer's rate for an unpaid one. */
  const invoiceUsd = (inv: Json): { total: bigint; rate: string | null } => {
    const cur = String(inv.currency).toUpperCase();
    if (cur === 'USD') return { total: BigInt(inv.total as number), rate: null };
    if (inv.id === eurInvoice?.id) return { total: convertMinor(BigInt(inv.total as number), cur, 'USD', BANK_EUR_RATE), rate: BANK_EUR_RATE };
    const ch = chargeOf.get(inv.id as string);
    if (ch) return { total: settledUsd(ch), rate: String(bts.get(ch.balance_transaction as string)?.exchange_rate ?? '') };
    const rate = customers.get(inv.customer as string)?.fxRate ?? '1';
    return { total: convertMinor(BigInt(inv.total as number), cur, 'USD', rate), rate };
  };

  for (const inv of invoices) {
    const number = String(inv.number);
    const name = String(inv.customer_name);
    const finalized = day((inv.status_transitions as { finalized_at: number }).finalized_at);
    const { total, rate } = invoiceUsd(inv);
    const lines = (inv.lines as { data: Json[] }).data;
    const cur = String(inv.currency).toUpperCase();
    const fx = rate ? ` (${cur} ${minorToDecimal(BigInt(inv.total as number), cur)} at ${rate})` : '';
    // Revenue lines in USD, each converted at the invoice's rate; the last absorbs the rounding.
    const revenue: Line[] = [];
    let allocated = 0n;
    lines.forEach((l, i) => {
      const amount =
        i === lines.length - 1 ? total - allocated : cur === 'USD' ? BigInt(l.amount as number) : convertMinor(BigInt(l.amount as number), cur, 'USD', rate ?? '1');
      allocated += amount;
      revenue.push({ account: ACCOUNTS.revenue, amount: -amount, memo: String(l.description) });
    });
    add({
      date: finalized,
      type: 'Invoice',
      num: number,
      name,
      lines: [{ account: ACCOUNTS.receivable, amount: total, memo: `Stripe invoice ${String(inv.id)}${fx}` }, ...revenue],
    });
    if (inv.status === 'void') {
      discrepancies.push(`Invoice ${number} (${name}) was voided in Stripe on ${day((inv.status_transitions as { voided_at: number }).voided_at)} but is still posted in the GL.`);
    }
    if (lines.length > 1) {
      discrepancies.push(`Invoice ${number} (${name}), a prorated upgrade, is posted as ${lines.length} separate revenue lines.`);
    }
    if (inv.status === 'uncollectible') {
      const at = day((inv.status_transitions as { marked_uncollectible_at: number }).marked_uncollectible_at);
      add({
        date: at,
        type: 'Credit Memo',
        num: `${number}-WO`,
        name,
        lines: [
          { account: ACCOUNTS.receivable, amount: -total, memo: `Write-off: Stripe marked invoice ${number} uncollectible` },
          { account: ACCOUNTS.revenue, amount: total, memo: `Write-off: Stripe marked invoice ${number} uncollectible` },
        ],
      });
    }

    const ch = chargeOf.get(inv.id as string);
    if (!ch) continue;
    const chargeId = String(ch.id);
    const bt = bts.get(ch.balance_transaction as string);
    let paid = cur === 'USD' ? BigInt(ch.amount as number) : inv.id === eurInvoice?.id ? total : settledUsd(ch);
    let date = day(ch.created as number);
    if (inv.id === jpyInvoice?.id) {
      paid -= 1n;
      discrepancies.push(`Payment ${number} (${name}, ${formatMoney({ amount: BigInt(ch.amount as number), currency: cur })}) is booked one cent under what Stripe settled (the USD amount was truncated, not rounded).`);
    }
    if (inv.id === eurInvoice?.id) {
      discrepancies.push(
        `Invoice and payment ${number} (${name}, ${formatMoney({ amount: BigInt(ch.amount as number), currency: 'EUR' })}) are booked at the bank's rate ${BANK_EUR_RATE} ` +
          `(${dollars(total)}) instead of Stripe's ${String(bt?.exchange_rate)} (${dollars(settledUsd(ch))}).`,
      );
    }
    if (inv.id === lateInvoice.id) {
      date = addDays(date, 2);
      discrepancies.push(`Payment ${number} (${name}, charge ${chargeId} on ${day(ch.created as number)}) is posted two days late, on ${date}.`);
    }
    if (inv.id === typoInvoice.id) {
      const wrong = typo(paid);
      discrepancies.push(`Payment ${number} (${name}) is typed as ${dollars(wrong)} instead of ${dollars(paid)}.`);
      paid = wrong;
    }
    add({
      date,
      type: 'Payment',
      num: number,
      name,
      lines: [
        { account: ACCOUNTS.clearing, amount: paid, memo: `Stripe charge ${chargeId}` },
        { account: ACCOUNTS.receivable, amount: -paid, memo: `Stripe charge ${chargeId}` },
      ],
    });
    const fee = BigInt((bt?.fee as number | undefined) ?? 0);
    if (fee > 0n) {
      const fees: Omit<Txn, 'order'> = {
        date: day(ch.created as number),
        type: 'Expense',
        num: '',
        name: 'Stripe',
        lines: [
          { account: ACCOUNTS.fees, amount: fee, memo: `Stripe processing fee for ${chargeId} (${String(bt?.id)})` },
          { account: ACCOUNTS.clearing, amount: -fee, memo: `Stripe processing fee for ${chargeId} (${String(bt?.id)})` },
        ],
      };
      add(fees);
      if (inv.id === doubledFeeInvoice.id) {
        add(fees);
        discrepancies.push(`The ${dollars(fee)} Stripe fee on ${chargeId} (${number}, ${name}) is posted twice.`);
      }
    }
  }

  for (const r of refunds.values()) {
    const ch = charges.get(r.charge as string);
    const inv = [...chargeOf.entries()].find(([, c]) => c.id === r.charge)?.[0];
    const number = invoices.find((i) => i.id === inv)?.number;
    discrepancies.push(
      `Refund ${String(r.id)} of ${dollars(BigInt(r.amount as number))} on ${day(r.created as number)} (${String(number ?? ch?.id)}) is not in the GL.`,
    );
  }

  for (const d of disputes) {
    const withdrawal = (d.balance_transactions as Json[] | undefined)?.[0];
    if (!withdrawal) continue;
    const amount = -BigInt(withdrawal.amount as number);
    const fee = BigInt(withdrawal.fee as number);
    const inv = invoices.find((i) => chargeOf.get(i.id as string)?.id === d.charge);
    add({
      date: day(withdrawal.created as number),
      type: 'Expense',
      num: '',
      name: String(inv?.customer_name ?? 'Stripe'),
      lines: [
        { account: ACCOUNTS.receivable, amount, memo: `Chargeback ${String(d.id)} on ${String(d.charge)} (${String(inv?.number ?? '')})` },
        { account: ACCOUNTS.fees, amount: fee, memo: `Dispute fee ${String(d.id)}` },
        { account: ACCOUNTS.clearing, amount: -(amount + fee), memo: `Chargeback withdrawal ${String(withdrawal.id)}` },
      ],
    });
  }

  for (const cn of creditNotes) {
    const inv = invoices.find((i) => i.id === cn.invoice);
    const amount = BigInt(cn.amount as number);
    add({
      date: day(cn.created as number),
      type: 'Credit Memo',
      num: String(cn.number),
      name: String(inv?.customer_name ?? ''),
      lines: [
        { account: ACCOUNTS.receivable, amount: -amount, memo: `Stripe credit note ${String(cn.id)}: ${String(cn.memo ?? '')}` },
        { account: ACCOUNTS.revenue, amount, memo: `Stripe credit note ${String(cn.id)}: ${String(cn.memo ?? '')}` },
      ],
    });
  }

  for (const p of payouts) {
    const amount = BigInt(p.amount as number);
    const memo = `Stripe payout ${String(p.id)} (${String((p.trace_id as { value?: string } | null)?.value ?? 'STRIPE PAYOUT')})`;
    add({
      date: day(p.arrival_date as number),
      type: 'Transfer',
      num: '',
      name: '',
      lines: [
        { account: ACCOUNTS.checking, amount, memo },
        { account: ACCOUNTS.clearing, amount: -amount, memo },
      ],
    });
  }

  // The month-end journal: Stripe Billing's usage fee (0.5% of what was collected), booked by hand.
  const collected = [...chargeOf.values()].reduce((s, ch) => s + settledUsd(ch), 0n);
  const billingFee = (collected * 5n + 500n) / 1000n;
  add({
    date: '2026-10-31',
    type: 'Journal Entry',
    num: 'JE-1031',
    name: '',
    lines: [
      { account: ACCOUNTS.fees, amount: billingFee, memo: 'Stripe Billing usage fee, October (0.5% of volume), per Stripe tax invoice' },
      { account: ACCOUNTS.clearing, amount: -billingFee, memo: 'Stripe Billing usage fee, October (0.5% of volume), per Stripe tax invoice' },
    ],
  });
  discrepancies.push(`Journal entry JE-1031 (${dollars(billingFee)} Stripe Billing fee on 2026-10-31) is a manual journal with no Stripe counterpart.`);

  // --- the report ------------------------------------------------------------------------------
  txns.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.order - b.order));
  const rows: string[] = [
    cell(companyName),
    'Transaction Detail by Account',
    'October 1-31, 2026',
    '',
    ',Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance',
  ];
  let postings = 0;
  let grand = 0n;
  for (const account of SECTION_ORDER) {
    rows.push(`${cell(account)},,,,,,,,`);
    let balance = 0n;
    for (const t of txns) {
      for (const l of t.lines) {
        if (l.account !== account) continue;
        const others = [...new Set(t.lines.filter((o) => o !== l && o.account !== account).map((o) => o.account))];
        const split = others.length === 1 ? (others[0] as string) : '-Split-';
        const shown = CREDIT_NORMAL.has(account) ? -l.amount : l.amount;
        balance += shown;
        postings++;
        rows.push(['', usDate(t.date), t.type, t.num, t.name, l.memo, split, plain(shown), plain(balance)].map(cell).join(','));
      }
    }
    rows.push(`${cell(`Total for ${account}`)},,,,,,,${cell(dollars(balance))},`);
    grand += balance;
  }
  rows.push(`TOTAL,,,,,,,${cell(dollars(grand))},`, '', '', cell('Accrual Basis Saturday, October 31, 2026 11:00 PM GMT+00:00'));
  return {
    fileName: 'quickbooks-transaction-detail-by-account-2026-10.csv',
    csv: `\uFEFF${rows.join('\r\n')}\r\n`,
    postings,
    discrepancies,
  };
}
