import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReconcileSummary, reconcile } from '../../src/matching/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { GOLDEN_DIR, GOLDEN_GL_FILE, loadGoldenGl, loadGoldenStripe, goldenId as id } from './golden-data.js';

/**
 * The golden month (test/fixtures/golden, see build.ts there for the stories): October's Stripe data
 * and the QuickBooks "Transaction Detail by Account" export of the same month, loaded through the
 * real ingest paths and reconciled with the default rules. Every billing record, every GL line on a
 * matched account and every exception is checked against what an accountant would conclude.
 */

// Account names as the fixture has them; the defaults (`Accounts Receivable*`, `Stripe Clearing*`,
// both debit-normal) classify them — said explicitly so the test does not depend on the defaults.
const YAML = `
matching:
  accounts:
    receivable: { accounts: ["Accounts Receivable*"], normal_side: debit }
    clearing: { accounts: ["Stripe Clearing*"], normal_side: debit }
`;
const AR = 'Accounts Receivable (A/R)';
const CLEARING = 'Stripe Clearing';

interface GlLine {
  id: bigint;
  line: number;
  key: string;
  account: string;
  memo: string | null;
  amount: bigint;
}

let db: TestDb;
let lines: GlLine[];
let summary: ReconcileSummary;
const clock = new ManualClock('2026-11-02T07:00:00Z');
const config = testConfig({ yaml: YAML });

beforeAll(async () => {
  db = await createTestDb();
  await loadGoldenStripe(db);
  const imported = await loadGoldenGl(db, config, clock);
  expect(imported.status).toBe('imported');
  summary = await reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'cli', id: 'golden' }, source: 'cli' });
  lines = (
    await sql<GlLine>`select id, source_line as line, line_key as key, account, memo, amount from gl_entries order by source_line`.execute(db.db)
  ).rows;
});
afterAll(async () => {
  await db?.cleanup();
});

/** `L<line>`: GL lines are named by their line in the export, which is how a person finds them. */
function label(l: GlLine): string {
  return `L${l.line}`;
}

/** The one line on `account` whose memo contains `needle` (all of them with `many`). */
function gl(account: string, needle: string, many = false): string[] {
  const found = lines.filter((l) => l.account === account && (l.memo ?? '').includes(needle));
  if (!many && found.length !== 1) throw new Error(`expected one ${account} line with "${needle}", found ${found.length}`);
  if (found.length === 0) throw new Error(`no ${account} line with "${needle}"`);
  return found.map(label);
}
const ar = (needle: string, many = false) => gl(AR, needle, many);
const clearing = (needle: string, many = false) => gl(CLEARING, needle, many);

interface Expected {
  rule: string;
  variance?: string;
  billing: string[];
  gl: string[];
}
const m = (rule: string, billing: string[], glLines: string[], variance = 'none 0'): Expected => ({ rule, variance, billing, gl: glLines });

/** A subscription invoice paid by card: invoice ↔ A/R invoice line, payment ↔ A/R payment line, charge ↔ clearing, fee ↔ clearing. */
function paidInvoice(key: string, at: string, rule = 'exact-reference', opts: { invoice?: boolean } = {}): Expected[] {
  const inv = id(`${key}.invoice.${at}`);
  const ch = id(`${key}.charge.${at}`);
  const txn = id(`${key}.charge.${at}.txn`);
  return [
    ...(opts.invoice === false ? [] : [m('exact-reference', [`invoice:${inv}`], ar(`Stripe invoice ${inv}`))]),
    m(rule, [`payment:${ch}`], ar(`Stripe charge ${ch}`)),
    m(rule, [`charge:${ch}`], clearing(`Stripe charge ${ch}`)),
    m(rule, [`fee:${txn}`], clearing(txn)),
  ];
}

function expectedMatches(): Expected[] {
  const massiveCh = id('massive.charge.2026-10-16');
  // The payment was entered twice: both copies are equally good, so the tie goes to the smaller line
  // key (byte order) — deterministic, whatever order the lines were loaded in.
  const firstOf = (labels: string[]) => {
    const chosen = lines.filter((l) => labels.includes(label(l))).sort((a, b) => (a.key < b.key ? -1 : 1))[0];
    if (!chosen) throw new Error('no line');
    return [label(chosen)];
  };
  const stark = id('stark.invoice.2026-10-15');
  const cyber = 'cyberdyne.charge.2026-10-05';
  return [
    // clean months
    ...paidInvoice('globex', '2026-10-01'),
    ...paidInvoice('initech', '2026-10-01'),
    ...paidInvoice('duff', '2026-10-23'),
    ...paidInvoice('wonka', '2026-10-22'),
    ...paidInvoice('sterling', '2026-10-26'),
    ...paidInvoice('umbrella', '2026-10-01'),
    ...paidInvoice('hooli', '2026-10-02'),
    ...paidInvoice('piedpiper', '2026-10-06'),
    ...paidInvoice('gringotts', '2026-10-16'),
    ...paidInvoice('stark', '2026-10-03'),
    // the upgrade: the proration invoice is two A/R lines that sum to it; its payment is clean
    m('prorated-lines', [`invoice:${stark}`], [...ar('Remaining time on Pro after 15 Oct'), ...ar('Unused time on Starter after 15 Oct')]),
    ...paidInvoice('stark', '2026-10-15', 'exact-reference', { invoice: false }),
    // GL two days late: still inside exact-reference's 3-day window
    ...paidInvoice('tyrell', '2026-10-08'),
    // six days late: the late-posting rule (10 days)
    ...paidInvoice('aperture', '2026-10-20', 'late-posting'),
    // $349.99 booked as $350.00: payment and charge within the rounding tolerance, fee and invoice exact
    m('exact-reference', [`invoice:${id('cyberdyne.invoice.2026-10-05')}`], ar(`Stripe invoice ${id('cyberdyne.invoice.2026-10-05')}`)),
    m('rounding', [`payment:${id(cyber)}`], ar(`Stripe charge ${id(cyber)}`), 'rounding -1 USD'),
    m('rounding', [`charge:${id(cyber)}`], clearing(`Stripe charge ${id(cyber)}`), 'rounding 1 USD'),
    m('exact-reference', [`fee:${id(`${cyber}.txn`)}`], clearing(id(`${cyber}.txn`))),
    // the payment entered twice: one copy of each side matches
    m('exact-reference', [`invoice:${id('massive.invoice.2026-10-16')}`], ar(`Stripe invoice ${id('massive.invoice.2026-10-16')}`)),
    m('exact-reference', [`payment:${massiveCh}`], firstOf(ar(`Stripe charge ${massiveCh}`, true))),
    m('exact-reference', [`charge:${massiveCh}`], firstOf(clearing(`Stripe charge ${massiveCh}`, true))),
    m('exact-reference', [`fee:${id('massive.charge.2026-10-16.txn')}`], clearing(id('massive.charge.2026-10-16.txn'))),
    // the typo: the invoice does not match, its payment, charge and fee do
    ...paidInvoice('vandelay', '2026-10-19', 'exact-reference', { invoice: false }),
    // failed payment: the open invoice is in A/R, as it should be
    m('exact-reference', [`invoice:${id('oceanic.invoice.2026-10-05')}`], ar(`Stripe invoice ${id('oceanic.invoice.2026-10-05')}`)),
    // Umbrella's refund booked without a Stripe reference: same customer, amount, day
    m('refund-credit', [`refund:${id('umbrella.refund')}`], clearing('Refund: duplicate seat')),
    // the dispute and Stripe's dispute fee
    m('exact-reference', [`dispute:${id('piedpiper.dispute')}`], clearing(`Stripe dispute ${id('piedpiper.dispute')}`)),
    m('exact-reference', [`fee:${id('piedpiper.dispute.txn')}`], clearing(id('piedpiper.dispute.txn'))),
    // €500.00 settled as $541.85, booked as $546.25: within the FX tolerance, $4.40 variance
    m('fx-timing', [`charge:${id('wayne.charge')}`], clearing(`Stripe charge ${id('wayne.charge')}`), 'fx_timing 440 USD'),
    m('exact-reference', [`fee:${id('wayne.charge.txn')}`], clearing(id('wayne.charge.txn'))),
    // the credit note as a credit memo
    m('exact-reference', [`credit_note:${id('gringotts.credit_note')}`], ar(`Stripe credit note ${id('gringotts.credit_note')}`)),
    // the weekly payouts
    ...[1, 2, 3, 4].map((n) => m('exact-reference', [`payout:${id(`payout.${n}`)}`], clearing(`Stripe payout ${id(`payout.${n}`)}`))),
    // the monthly Radar fee journal: expected on its own
    m('manual-journals', [], clearing('Stripe Radar and Billing fees'), 'expected 0 USD'),
  ];
}

function describeExpected(e: Expected): string {
  return `${e.rule} ${e.variance} | ${[...e.billing].sort().join(' ')} | ${[...e.gl].sort().join(' ')}`;
}

describe('golden month: every record ends where an accountant would put it', () => {
  it('imports the whole GL export and builds a billing record for every posting Stripe implies', async () => {
    const csv = readFileSync(path.join(GOLDEN_DIR, GOLDEN_GL_FILE), 'utf8');
    expect(lines).toHaveLength(csv.split('\n').filter((l) => /^,\d{2}\/\d{2}\/\d{4},/.test(l)).length);
    const kinds = await sql<{ kind: string; active: boolean; n: bigint }>`
      select kind, active, count(*) as n from recon_billing_records group by kind, active order by kind, active`.execute(db.db);
    expect(kinds.rows.map((r) => `${r.kind}${r.active ? '' : ' (inactive)'}: ${r.n}`)).toEqual([
      'charge: 17', // 16 paid invoices + Wayne's one-off charge; Oceanic's declined attempts are not postings
      'credit_note: 1',
      'dispute: 1',
      'fee: 18', // one per charge and the dispute fee
      'invoice (inactive): 1', // Soylent's voided invoice, kept to recognise it in the GL
      'invoice: 17',
      'payment: 16',
      'payout: 4',
      'refund: 2',
    ]);
  });

  it('matches each pair or group under the rule an accountant would name', async () => {
    const rows = await sql<{ rule: string; vk: string; v: bigint; vcur: string | null; b: string[] | null; g: string[] | null }>`
      select m.rule_name as rule, m.variance_kind as vk, m.variance_amount as v, m.variance_currency as vcur,
        (select array_agg(b.record_key) from recon_match_members x join recon_billing_records b on b.id = x.record_id
          where x.match_id = m.id and x.side = 'billing') as b,
        (select array_agg(g.source_line::text) from recon_match_members x join gl_entries g on g.id = x.record_id
          where x.match_id = m.id and x.side = 'gl') as g
      from recon_matches m`.execute(db.db);
    const actual = rows.rows
      .map((r) =>
        describeExpected({
          rule: r.rule,
          variance: `${r.vk} ${r.v}${r.v === 0n && r.vk === 'none' ? '' : ` ${r.vcur}`}`,
          billing: r.b ?? [],
          gl: (r.g ?? []).map((n) => `L${n}`),
        }),
      )
      .sort();
    expect(actual).toEqual(expectedMatches().map(describeExpected).sort());
  });

  it('leaves exactly the unexplained records unmatched', async () => {
    const matchedB = new Set(expectedMatches().flatMap((e) => e.billing));
    const active = await sql<{ record_key: string }>`select record_key from recon_billing_records where active order by record_key`.execute(db.db);
    const billingOnly = active.rows.map((r) => r.record_key).filter((k) => !matchedB.has(k));
    expect(billingOnly.sort()).toEqual([`invoice:${id('vandelay.invoice.2026-10-19')}`, `refund:${id('hooli.refund')}`].sort());

    const open = await sql<{ side: string; key: string }>`
      select 'b' as side, b.record_key as key from recon_billing_records b
      where b.active and not exists (select 1 from recon_match_members x where x.side = 'billing' and x.record_id = b.id)
      union all
      select 'g', 'L' || g.source_line from gl_entries g
      where g.account in (${AR}, ${CLEARING}) and not exists (select 1 from recon_match_members x where x.side = 'gl' and x.record_id = g.id)`.execute(db.db);
    const massiveCh = id('massive.charge.2026-10-16');
    const matchedG = new Set(expectedMatches().flatMap((e) => e.gl));
    const secondCopy = (labels: string[]) => labels.filter((l) => !matchedG.has(l));
    expect(open.rows.map((r) => `${r.side}:${r.key}`).sort()).toEqual(
      [
        ...billingOnly.map((k) => `b:${k}`),
        // Vandelay's invoice typed as $1,250.00
        ...ar(`Stripe invoice ${id('vandelay.invoice.2026-10-19')}`),
        // Soylent's voided invoice, still in A/R
        ...ar(`Stripe invoice ${id('soylent.invoice.2026-10-02')}`),
        // the second copy of Massive Dynamic's payment, on both accounts
        ...secondCopy(ar(`Stripe charge ${massiveCh}`, true)),
        ...secondCopy(clearing(`Stripe charge ${massiveCh}`, true)),
        // the customer wire misposted to Stripe Clearing (both sides are on matched accounts)
        ...ar('Wire received'),
        ...clearing('Wire received'),
      ]
        .map((k) => (k.startsWith('L') ? `g:${k}` : k))
        .sort(),
    );
    expect(summary.billing.billingOnly).toEqual({ count: 2, amounts: { USD: String(152000 - 20000) } });
    expect(summary.gl.glOnly.count).toBe(6);
    expect(summary.gl.expected).toEqual({ count: 1, amounts: { USD: '-4217' } });
  });

  it('never matches lines on other accounts (revenue, fees, the bank)', async () => {
    const other = await sql<{ n: bigint }>`
      select count(*) as n from gl_entries g
      where g.account not in (${AR}, ${CLEARING})
        and (exists (select 1 from recon_match_members x where x.side = 'gl' and x.record_id = g.id)
          or exists (select 1 from exceptions e where e.gl_entry_id = g.id))`.execute(db.db);
    expect(other.rows[0]?.n).toBe(0n);
  });

  it('opens one exception per discrepancy, with the amount and reference a person needs', async () => {
    const rows = await sql<{
      kind: string;
      status: string;
      severity: string;
      amount: bigint;
      currency: string;
      customer_name: string | null;
      reference: string | null;
      stripe_id: string | null;
      record_key: string | null;
      line: number | null;
    }>`
      select e.kind, e.status, e.severity, e.amount, e.currency, e.customer_name, e.reference, e.stripe_id, b.record_key, g.source_line as line
      from exceptions e
      left join recon_billing_records b on b.id = e.billing_record_id
      left join gl_entries g on g.id = e.gl_entry_id`.execute(db.db);
    const show = (r: (typeof rows.rows)[number]) =>
      [r.kind, r.status, r.severity, `${r.amount} ${r.currency}`, r.customer_name ?? '-', r.reference ?? '-', r.stripe_id ?? '-', r.record_key ?? '-', r.line === null ? '-' : `L${r.line}`].join(' | ');
    const massiveCh = id('massive.charge.2026-10-16');
    const matchedG = new Set(expectedMatches().flatMap((e) => e.gl));
    const [arDup] = ar(`Stripe charge ${massiveCh}`, true).filter((l) => !matchedG.has(l));
    const [clDup] = clearing(`Stripe charge ${massiveCh}`, true).filter((l) => !matchedG.has(l));
    const vandelay = id('vandelay.invoice.2026-10-19');
    const soylent = id('soylent.invoice.2026-10-02');
    const oceanic = id('oceanic.invoice.2026-10-05');
    const hooliRefund = id('hooli.refund');
    const dispute = id('piedpiper.dispute');
    expect(rows.rows.map(show).sort()).toEqual(
      [
        // Stripe refunded $200 to Hooli; nothing in the GL
        `missing_in_gl | open | medium | -20000 USD | Hooli Inc | ${hooliRefund} | ${hooliRefund} | refund:${hooliRefund} | -`,
        // Soylent's invoice was voided in Stripe on 6 Oct, the GL still carries it in A/R
        `void_not_reflected | open | high | 29000 USD | Soylent Co | ${id('soylent.invoice.2026-10-02.number')} | ${soylent} | invoice:${soylent} | ${ar(`Stripe invoice ${soylent}`)[0]}`,
        // Vandelay's $1,520.00 invoice typed as $1,250.00; the reference the two share
        `amount_mismatch | open | high | 152000 USD | Vandelay Industries | ${id('vandelay.invoice.2026-10-19.number')} | ${vandelay} | invoice:${vandelay} | ${ar(`Stripe invoice ${vandelay}`)[0]}`,
        // the second copy of Massive Dynamic's payment, on each account
        `duplicate_in_gl | open | high | -120000 USD | Massive Dynamic | ${id('massive.invoice.2026-10-16.number')} | - | - | ${arDup}`,
        `duplicate_in_gl | open | high | 120000 USD | Massive Dynamic | ${id('massive.invoice.2026-10-16.number')} | - | - | ${clDup}`,
        // the wire in Stripe Clearing: Stripe has no such money movement
        `missing_in_billing | open | high | -300000 USD | Initech LLC | - | - | - | ${ar('Wire received')[0]}`,
        `missing_in_billing | open | high | 300000 USD | Initech LLC | - | - | - | ${clearing('Wire received')[0]}`,
        // Oceanic: four declined attempts, open past its finalization
        `failed_payment | open | high | 240000 USD | Oceanic Airlines | ${id('oceanic.invoice.2026-10-05.number')} | ${oceanic} | invoice:${oceanic} | -`,
        // Pied Piper's chargeback needs a response
        `dispute_open | open | medium | 99000 USD | Pied Piper | ${id('piedpiper.charge.2026-10-06')} | ${dispute} | dispute:${dispute} | -`,
      ].sort(),
    );
    expect(summary.exceptions).toEqual({ opened: 9, reopened: 0, autoResolved: 0, updated: 0, active: 9 });
  });

  it('a rerun with nothing new adds no match and changes no exception', async () => {
    const snap = async () => ({
      matches: (await sql`select id, rule_name, variance_amount from recon_matches order by id`.execute(db.db)).rows,
      exceptions: (await sql`select * from exceptions order by id`.execute(db.db)).rows,
    });
    const before = await snap();
    clock.advance(3_600_000);
    const again = await reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'cli', id: 'golden' }, source: 'cli' });
    expect(again.rules.reduce((s, r) => s + r.matches, 0)).toBe(0);
    expect(again.exceptions).toEqual({ opened: 0, reopened: 0, autoResolved: 0, updated: 0, active: 9 });
    expect(await snap()).toEqual(before);
  });
});
