import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/index.js';
import { reconcile } from '../../src/matching/index.js';
import { ManualClock } from '../support/clock.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { type BillingRow, type GlRow, insertBillingRecords, insertGlEntries, outcomes } from '../support/recon.js';

/**
 * Properties of a reconciliation run over generated billing records and GL entries: small datasets
 * built to collide (shared invoice numbers, duplicate postings, split postings, late and rounded
 * amounts, FX, payouts, journals), so the rules compete for the same records.
 */

const config = testConfig({ yaml: 'org:\n  fx_rates: { EUR: "1.08" }\n' });
const AR = 'Accounts Receivable (A/R)';
const CLEARING = 'Stripe Clearing';

const KINDS = ['invoice', 'payment', 'credit_note', 'charge', 'refund', 'fee', 'payout'] as const;
type Kind = (typeof KINDS)[number];
const SIGN: Record<Kind, bigint> = { invoice: 1n, payment: -1n, credit_note: -1n, charge: 1n, refund: -1n, fee: -1n, payout: -1n };
const RECEIVABLE = new Set<Kind>(['invoice', 'payment', 'credit_note']);
const STORIES = ['none', 'exact', 'late', 'rounding', 'typo', 'split', 'dup', 'noref', 'fx', 'other-account'] as const;

const recordArb = fc.record({
  kind: fc.constantFrom(...KINDS),
  amount: fc.integer({ min: 100, max: 400_000 }),
  day: fc.integer({ min: 1, max: 28 }),
  customer: fc.constantFrom('Acme Corp', 'Globex', 'Initech', null),
  eur: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  /** An invoice number several records and lines share: what makes rules compete. */
  shared: fc.option(fc.constantFrom('ACME-0001', 'ACME-0002', 'ACME-0003'), { freq: 2 }),
  group: fc.option(fc.constantFrom('po_1QGroupAAAAAAAAAAAAAA', 'po_1QGroupBBBBBBBBBBBBBB'), { freq: 3 }),
  story: fc.constantFrom(...STORIES),
  shift: fc.integer({ min: -2, max: 9 }),
  wobble: fc.integer({ min: -3, max: 3 }),
});
const extraArb = fc.record({
  day: fc.integer({ min: 1, max: 31 }),
  amount: fc.integer({ min: -90_000, max: 90_000 }).filter((n) => n !== 0),
  receivable: fc.boolean(),
  ref: fc.option(fc.constantFrom('ACME-0001', 'ACME-0002', 'ch_1QUnknownUnknownUnknown0', 'po_1QGroupAAAAAAAAAAAAAA'), { freq: 2 }),
  journal: fc.boolean(),
  eur: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});
const datasetArb = fc.record({
  records: fc.array(recordArb, { minLength: 1, maxLength: 10 }),
  extras: fc.array(extraArb, { maxLength: 4 }),
  /** Deterministic shuffle seed for the order-independence property. */
  seed: fc.integer(),
});
type Dataset = { billing: BillingRow[]; gl: GlRow[] };
type ArbValue<A> = A extends fc.Arbitrary<infer T> ? T : never;

function date(day: number, shift = 0): string {
  return new Date(Date.UTC(2026, 9, day + shift)).toISOString().slice(0, 10);
}

/** Turn the generated stories into billing records and the GL lines a bookkeeper would have posted. */
function build(d: { records: Array<ArbValue<typeof recordArb>>; extras: Array<ArbValue<typeof extraArb>> }): Dataset {
  const billing: BillingRow[] = [];
  const gl: GlRow[] = [];
  const groupSums = new Map<string, { total: bigint; day: number }>();
  let n = 0;
  d.records.forEach((r, i) => {
    const ref = `${r.kind === 'invoice' ? 'in' : r.kind === 'credit_note' ? 'cn' : r.kind === 'refund' ? 're' : r.kind === 'payout' ? 'po' : r.kind === 'fee' ? 'txn' : 'ch'}_1QProp${String(i).padStart(17, '0')}`;
    const amount = SIGN[r.kind] * BigInt(r.amount);
    const eur = (r.eur || r.story === 'fx') && (r.kind === 'charge' || r.kind === 'invoice');
    // a EUR charge settles in USD (Stripe's balance transaction); a EUR invoice has no settlement
    const settlement = eur && r.kind === 'charge' ? (amount * 108n) / 100n : null;
    const cls = RECEIVABLE.has(r.kind) ? 'receivable' : 'clearing';
    const group = cls === 'clearing' && r.kind !== 'payout' ? r.group : null;
    billing.push({
      key: `${r.kind}:${ref}`,
      kind: r.kind,
      cls,
      refs: r.shared ? [ref, r.shared] : [ref],
      amount,
      currency: eur ? 'EUR' : 'USD',
      date: date(r.day),
      customerId: r.customer ? `cus_1Q${r.customer.replace(/\W/g, '').padEnd(20, 'x')}` : null,
      customerName: r.customer,
      settlementAmount: settlement,
      settlementCurrency: settlement === null ? null : 'USD',
      groupKey: group,
    });
    if (group) {
      const g = groupSums.get(group) ?? { total: 0n, day: r.day };
      g.total += settlement ?? amount;
      g.day = Math.max(g.day, r.day);
      groupSums.set(group, g);
    }
    const account = cls === 'receivable' ? AR : CLEARING;
    const line = (amt: bigint, over: Partial<GlRow> = {}): GlRow => ({
      key: `gl-${i}-${n++}`,
      account,
      amount: amt,
      currency: eur ? 'EUR' : 'USD',
      date: date(r.day, r.shift % 3),
      stripeIds: [ref],
      invoiceNumbers: r.shared ? [r.shared] : [],
      customerName: r.customer,
      ...over,
    });
    switch (r.story) {
      case 'none':
        break;
      case 'exact':
        gl.push(line(amount));
        break;
      case 'late':
        gl.push(line(amount, { date: date(r.day, 4 + Math.abs(r.shift)) }));
        break;
      case 'rounding':
        gl.push(line(amount + BigInt(r.wobble)));
        break;
      case 'typo':
        gl.push(line((amount * 9n) / 10n));
        break;
      case 'split': {
        const first = amount / 3n;
        gl.push(line(first), line(amount - first));
        break;
      }
      case 'dup':
        gl.push(line(amount), line(amount));
        break;
      case 'noref':
        gl.push(line(amount, { stripeIds: [], invoiceNumbers: [] }));
        break;
      case 'fx':
        // booked in USD at another rate than Stripe's
        gl.push(line(((settlement ?? (amount * 108n) / 100n) * BigInt(1000 + r.wobble * 4)) / 1000n, { currency: 'USD' }));
        break;
      case 'other-account':
        gl.push(line(amount, { account: 'Subscription Revenue' }));
        break;
    }
  });
  // a bank deposit booked straight from a payout, for the records grouped under it
  for (const [group, g] of groupSums) gl.push({ key: `gl-group-${group}`, account: CLEARING, amount: g.total, currency: 'USD', date: date(g.day, 1), stripeIds: [group] });
  d.extras.forEach((e, i) => {
    gl.push({
      key: `gl-extra-${i}`,
      account: e.receivable ? AR : CLEARING,
      amount: BigInt(e.amount),
      currency: e.eur ? 'EUR' : 'USD',
      date: date(e.day),
      stripeIds: e.ref && !e.ref.startsWith('ACME') ? [e.ref] : [],
      invoiceNumbers: e.ref?.startsWith('ACME') ? [e.ref] : [],
      transactionType: e.journal ? 'Journal Entry' : 'Deposit',
      memo: e.journal ? 'Manual adjustment' : null,
    });
  });
  // line numbers are part of the export, not of the order rows happen to be inserted in
  gl.forEach((g, i) => {
    g.line = i + 2;
  });
  return { billing, gl };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

let db: TestDb;
const ruleHits = new Map<string, number>();
const clock = new ManualClock('2026-11-02T06:00:00Z');

async function reset(k: Kysely<Database>): Promise<void> {
  // the audit log refuses TRUNCATE (append-only) and is not read here
  await sql`truncate recon_match_groups, recon_pair_batches, reconciliation_runs, exceptions, recon_billing_records, recon_state, gl_entries, gl_imports restart identity cascade`.execute(k);
}

async function load(data: Dataset): Promise<void> {
  await reset(db.db);
  await insertBillingRecords(db.db, data.billing);
  await insertGlEntries(db.db, data.gl, 'generated.csv');
}

function run() {
  return reconcile(db.db, { file: config.file, matching: config.file.matching, clock, actor: { kind: 'cli', id: 'property' }, source: 'cli' });
}

/** Every exception, keyed by what it is about (never by insertion ids). */
async function exceptionsByKey(): Promise<Record<string, unknown>> {
  const rows = await sql<Record<string, unknown>>`
    select e.dedupe_key, e.kind, e.status, e.severity, e.amount, e.currency, e.reference, e.details, b.record_key, g.line_key
    from exceptions e left join recon_billing_records b on b.id = e.billing_record_id left join gl_entries g on g.id = e.gl_entry_id`.execute(db.db);
  return Object.fromEntries(rows.rows.map((r) => [r.dedupe_key as string, r]));
}

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.cleanup();
});

const datasets = datasetArb.map((d) => ({ ...build(d), seed: d.seed }));

describe('reconciliation properties', () => {
  it('conservation: every record ends in exactly one state, and no record is in two matches', async () => {
    await fc.assert(
      fc.asyncProperty(datasets, async (data) => {
        await load(data);
        const s = await run();
        for (const r of s.rules) if (r.matches > 0) ruleHits.set(r.rule, (ruleHits.get(r.rule) ?? 0) + 1);
        const twice = await sql<{ side: string; record_id: bigint; n: bigint }>`
          select side, record_id, count(*) as n from recon_match_members group by side, record_id having count(*) > 1`.execute(db.db);
        expect(twice.rows).toEqual([]);
        // matches hold what they say they hold
        const counts = await sql<{ bad: bigint }>`
          select count(*) as bad from recon_matches m
          where m.billing_count <> (select count(*) from recon_match_members x where x.match_id = m.id and x.side = 'billing')
             or m.gl_count <> (select count(*) from recon_match_members x where x.match_id = m.id and x.side = 'gl')
             or (m.rule_kind <> 'expected_gl_only' and (m.billing_count = 0 or m.gl_count = 0))`.execute(db.db);
        expect(counts.rows[0]?.bad).toBe(0n);

        const o = await outcomes(db.db);
        expect(o.size).toBe(data.billing.length + data.gl.length);
        const classified = data.gl.filter((g) => g.account !== 'Subscription Revenue').length;
        const byOutcome = (prefix: string, outcome: string) => [...o].filter(([k, v]) => k.startsWith(prefix) && v.outcome === outcome).length;
        expect(byOutcome('b:', 'matched') + byOutcome('b:', 'billing_only')).toBe(data.billing.length);
        // this run's summary adds up to the same picture
        expect(s.billing.matched.count).toBe(byOutcome('b:', 'matched'));
        expect(s.billing.billingOnly.count).toBe(byOutcome('b:', 'billing_only'));
        expect(s.gl.matched.count + s.gl.expected.count + s.gl.glOnly.count).toBe(classified);
        // lines on accounts that are neither receivable nor clearing never match
        for (const g of data.gl.filter((x) => x.account === 'Subscription Revenue')) expect(o.get(`g:${g.key}`)?.rule).toBeNull();

        // every unmatched record is explained: one billing-side exception per billing-only record,
        // at least one exception naming each GL-only line
        const explained = await sql<{ k: string; n: bigint }>`
          select 'b:' || b.record_key as k, count(e.id) as n from recon_billing_records b
          left join exceptions e on e.billing_record_id = b.id and e.status <> 'auto_resolved'
            and e.kind in ('missing_in_gl', 'amount_mismatch', 'fx_variance_over_tolerance')
          where not exists (select 1 from recon_match_members x where x.side = 'billing' and x.record_id = b.id)
          group by b.record_key
          union all
          select 'g:' || g.line_key, count(e.id) from gl_entries g
          left join exceptions e on e.gl_entry_id = g.id
          where g.account <> 'Subscription Revenue' and not exists (select 1 from recon_match_members x where x.side = 'gl' and x.record_id = g.id)
          group by g.line_key`.execute(db.db);
        for (const r of explained.rows) {
          if (r.k.startsWith('b:')) expect([r.k, r.n]).toEqual([r.k, 1n]);
          else expect([r.k, r.n > 0n]).toEqual([r.k, true]);
        }
      }),
      { numRuns: 20 },
    );
    // the generator is worth something only if the rules actually compete over what it makes
    for (const rule of ['exact-reference', 'late-posting', 'rounding', 'manual-journals']) expect(ruleHits.get(rule) ?? 0, rule).toBeGreaterThan(0);
  }, 180_000);

  it('idempotence: a second run with nothing new adds no match and changes no exception', async () => {
    await fc.assert(
      fc.asyncProperty(datasets, async (data) => {
        await load(data);
        await run();
        const matches = () => sql`select id, run_id, rule_name, variance_kind, variance_amount, billing_count, gl_count from recon_matches order by id`.execute(db.db);
        const members = () => sql`select side, record_id, match_id from recon_match_members order by side, record_id`.execute(db.db);
        const exceptions = () => sql`select * from exceptions order by id`.execute(db.db);
        const before = { m: (await matches()).rows, mm: (await members()).rows, e: (await exceptions()).rows };
        clock.advance(60_000);
        const again = await run();
        expect(again.rules.reduce((n, r) => n + r.matches, 0)).toBe(0);
        expect({ opened: again.exceptions.opened, reopened: again.exceptions.reopened, autoResolved: again.exceptions.autoResolved, updated: again.exceptions.updated }).toEqual({
          opened: 0,
          reopened: 0,
          autoResolved: 0,
          updated: 0,
        });
        expect({ m: (await matches()).rows, mm: (await members()).rows, e: (await exceptions()).rows }).toEqual(before);
      }),
      { numRuns: 15 },
    );
  }, 180_000);

  it('order independence: the same data inserted in another order ends the same way', async () => {
    await fc.assert(
      fc.asyncProperty(datasets, async (data) => {
        await load(data);
        await run();
        const first = await outcomes(db.db);
        const firstExceptions = await exceptionsByKey();
        await load({ billing: shuffled(data.billing, data.seed), gl: shuffled(data.gl, data.seed ^ 0x5bd1e995) });
        await run();
        expect(Object.fromEntries(await outcomes(db.db))).toEqual(Object.fromEntries(first));
        expect(await exceptionsByKey()).toEqual(firstExceptions);
      }),
      { numRuns: 15 },
    );
  }, 180_000);

  it('currencies: only an fx rule pairs different currencies, and then against what Stripe settled', async () => {
    await fc.assert(
      fc.asyncProperty(datasets, async (data) => {
        await load(data);
        await run();
        const pairs = await sql<{ rule_kind: string; rule_name: string; bcur: string; scur: string | null; gcur: string; key: string }>`
          select m.rule_kind, m.rule_name, b.currency as bcur, b.settlement_currency as scur, g.currency as gcur, b.record_key as key
          from recon_matches m
          join recon_match_members xb on xb.match_id = m.id and xb.side = 'billing' join recon_billing_records b on b.id = xb.record_id
          join recon_match_members xg on xg.match_id = m.id and xg.side = 'gl' join gl_entries g on g.id = xg.record_id`.execute(db.db);
        const rates = new Set(['USD', ...Object.keys(config.file.org.fx_rates)]);
        for (const p of pairs.rows) {
          const what = `${p.rule_name} paired ${p.key} (${p.bcur}${p.scur ? ` settled in ${p.scur}` : ''}) with a ${p.gcur} GL line`;
          if (p.rule_kind === 'fx') {
            expect(p.gcur, what).not.toBe(p.bcur);
            // Stripe's settlement when it gave one in the GL's currency, else the configured rates
            const ok = p.scur === p.gcur || (rates.has(p.bcur) && rates.has(p.gcur));
            expect(ok, what).toBe(true);
          } else if (p.rule_kind === 'aggregate' && p.rule_name === 'payout-deposit') {
            // a bank deposit is what landed: the settlement currency
            expect(p.scur ?? p.bcur, what).toBe(p.gcur);
          } else {
            expect(p.bcur, what).toBe(p.gcur);
          }
        }
      }),
      { numRuns: 15 },
    );
  }, 180_000);
});
