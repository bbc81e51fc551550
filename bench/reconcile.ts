/**
 * `npm run bench -- reconcile [N]`: N billing records (default 1,000,000) against about N GL entries,
 * with ~2% unmatched on each side and a mix of rule kinds, reconciled end to end on real PostgreSQL
 * (working set, every rule, exception derivation, run summary, all committed). Baseline, same run,
 * same tables: a plain SQL hash join pairing records by reference, amount and currency.
 */
import { sql } from 'kysely';
import { defaultBillopsFile } from '../src/config/index.js';
import { matchingSchema, reconcile } from '../src/matching/index.js';
import { ManualClock } from '../src/util/index.js';
import { createBenchDb, fmtMs, rssSampler, say, timed } from './lib.js';

export async function run(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 1_000_000);
  const db = await createBenchDb('reconcile');
  try {
    say(`reconcile benchmark: ${n.toLocaleString('en-US')} billing records vs ~${n.toLocaleString('en-US')} GL entries (PostgreSQL ${db.url?.replace(/\/\/[^@]*@/, '//')})`);
    const gen = await timed(() => generate(db.db, n));
    say(`  data generated in ${fmtMs(gen.ms)} (not timed below)`);
    await sql`analyze`.execute(db.db);
    const counts = await sql<{ b: bigint; g: bigint }>`select (select count(*) from recon_billing_records) as b, (select count(*) from gl_entries) as g`.execute(db.db);
    say(`  billing records ${counts.rows[0]?.b}, GL entries ${counts.rows[0]?.g}`);

    // Baseline first (warms the same pages for both): pair on the first reference, amount and currency.
    const joinOnly = await timed(() =>
      sql`select count(*) from recon_billing_records b join gl_entries g
          on g.amount = b.amount and g.currency = b.currency and (g.stripe_ids || g.invoice_numbers)[1] = b.refs[1]`.execute(db.db),
    );
    const joinWrite = await timed(async () => {
      await sql`create table baseline_pairs as select b.id as bid, g.id as gid from recon_billing_records b join gl_entries g
          on g.amount = b.amount and g.currency = b.currency and (g.stripe_ids || g.invoice_numbers)[1] = b.refs[1]`.execute(db.db);
    });
    await sql`drop table baseline_pairs`.execute(db.db);

    const file = defaultBillopsFile();
    const matching = matchingSchema.parse({});
    const rss = rssSampler();
    const first = await timed(() =>
      reconcile(db.db, { file, matching, clock: new ManualClock('2026-11-01T06:00:00Z'), actor: { kind: 'cli', id: 'bench' }, source: 'cli' }),
    );
    rss.stop();
    const s = first.value;
    const matched = s.rules.reduce((a, r) => a + r.matches, 0);
    say('');
    say(`  reconcile (end to end, results written): ${fmtMs(first.ms)}`);
    for (const r of s.rules) say(`    ${r.rule.padEnd(18)} ${r.kind.padEnd(17)} ${String(r.matches).padStart(9)} matches`);
    say(`    matched ${matched.toLocaleString('en-US')}; billing-only ${s.billing.billingOnly.count}; GL-only ${s.gl.glOnly.count}; expected ${s.gl.expected.count}; exceptions opened ${s.exceptions.opened}`);
    say(`  baseline plain hash join (count):            ${fmtMs(joinOnly.ms)}  → ratio ${(first.ms / joinOnly.ms).toFixed(2)}×`);
    say(`  baseline plain hash join (pairs written):    ${fmtMs(joinWrite.ms)}  → ratio ${(first.ms / joinWrite.ms).toFixed(2)}×`);
    say(`  peak RSS of this node process: ${rss.peakMb().toFixed(0)} MB`);

    const again = await timed(() =>
      reconcile(db.db, { file, matching, clock: new ManualClock('2026-11-01T06:00:00Z'), actor: { kind: 'cli', id: 'bench' }, source: 'cli' }),
    );
    say(`  rerun with no new data (incremental): ${fmtMs(again.ms)}, new matches ${again.value.rules.reduce((a, r) => a + r.matches, 0)}, exceptions opened ${again.value.exceptions.opened}`);
    say('');
    say(`targets: ≤ 10 s end to end: ${first.ms <= 10_000 ? 'met' : 'NOT met'}; ≤ 6× plain join: ${first.ms <= 6 * joinOnly.ms ? 'met' : 'NOT met'} (vs count), ${first.ms <= 6 * joinWrite.ms ? 'met' : 'NOT met'} (vs pairs written); RSS ≤ 300 MB: ${rss.peakMb() <= 300 ? 'met' : 'NOT met'}`);
  } finally {
    await db.drop();
  }
}

/**
 * Per i (1..n), by i % 100:
 *   0–1   billing only (no GL line)          → missing_in_gl
 *   2–69  charge, exact GL line (date +0..2)
 *   70–71 charge, GL off by one cent          → rounding
 *   72–73 charge, GL posted 6 days late       → late-posting
 *   74–75 EUR charge settled in USD, GL in USD at another rate → fx-timing
 *   76–77 invoice posted as two GL lines      → prorated-lines (one-to-many)
 *   78–79 refund without reference, same customer and amount → refund-credit (window)
 *   80–99 invoice, exact GL line on receivables
 * plus ~2% GL-only lines (unknown references) and a few manual journals.
 */
async function generate(db: import('kysely').Kysely<import('../src/db/index.js').Database>, n: number): Promise<void> {
  await sql`set local synchronous_commit = off`.execute(db);
  await sql`
    insert into recon_billing_records (record_key, kind, stripe_id, account_class, refs, customer_id, customer_name, amount, currency,
      settlement_amount, settlement_currency, occurred_on, group_key, status, active, source_changed_at, refreshed_at)
    select
      case when k between 76 and 99 then 'invoice:in_' || i when k between 78 and 79 then 'refund:re_' || i else 'charge:ch_' || i end,
      case when k between 80 and 99 or k between 76 and 77 then 'invoice' when k between 78 and 79 then 'refund' else 'charge' end,
      'x_' || i,
      case when k between 80 and 99 or k between 76 and 77 then 'receivable' else 'clearing' end,
      case when k between 80 and 99 or k between 76 and 77 then array['in_' || i, 'INV-' || lpad(i::text, 7, '0')]
           when k between 78 and 79 then array['re_' || i]
           else array['ch_' || i, 'txn_' || i] end,
      'cus_' || (i % 5000), 'customer ' || (i % 5000),
      case when k between 78 and 79 then -amt else amt end,
      case when k between 74 and 75 then 'EUR' else 'USD' end,
      case when k between 74 and 75 then amt * 108 / 100 end,
      case when k between 74 and 75 then 'USD' end,
      date '2026-01-01' + (i % 300), null, 'paid', true, now(), now()
    from (select i, i % 100 as k, 100 + (i::bigint * 7919) % 500000 as amt from generate_series(1, ${n}) as i) s`.execute(db);

  const imp = await sql<{ id: bigint }>`
    insert into gl_imports (source_system, file_name, sha256, size_bytes, rows_read, entries_new, entries_existing, accounts, account_count, totals,
      imported_by, imported_via, imported_at, duration_ms)
    values ('generic', 'bench.csv', 'bench', 0, 0, 0, 0, '{}', 0, '{}', 'bench', 'cli', now(), 0) returning id`.execute(db);
  const importId = imp.rows[0]?.id;
  await sql`
    insert into gl_entries (import_id, source_system, source_file, source_line, line_key, entry_date, account, amount, currency,
      reference, memo, customer_name, external_id, transaction_type, accounting_period, stripe_ids, invoice_numbers, created_at)
    select ${importId}, 'generic', 'bench.csv', row_number() over () + 1, md5(i::text || ':' || part), d, account, amount, 'USD',
      null, null, cname, null, ttype, null, sids, invs, now()
    from (
      select i, 1 as part, date '2026-01-01' + (i % 300) + case when k between 72 and 73 then 6 else (i % 3) end as d,
        case when k between 80 and 99 or k between 76 and 77 then 'Accounts Receivable (A/R)' else 'Stripe Clearing' end as account,
        case when k between 70 and 71 then amt + 1
             when k between 74 and 75 then amt * 108 / 100 + 3
             when k between 76 and 77 then amt - amt / 3
             when k between 78 and 79 then -amt
             else amt end as amount,
        case when k between 78 and 79 then 'customer ' || (i % 5000) end as cname, null::text as ttype,
        case when k between 80 and 99 or k between 76 and 79 then '{}'::text[] else array['ch_' || i] end as sids,
        case when k between 80 and 99 or k between 76 and 77 then array['INV-' || lpad(i::text, 7, '0')] else '{}'::text[] end as invs
      from (select i, i % 100 as k, 100 + (i::bigint * 7919) % 500000 as amt from generate_series(1, ${n}) as i) s where k >= 2
      union all
      -- the second line of each prorated invoice
      select i, 2, date '2026-01-01' + (i % 300), 'Accounts Receivable (A/R)', amt / 3, null, null, '{}', array['INV-' || lpad(i::text, 7, '0')]
      from (select i, i % 100 as k, 100 + (i::bigint * 7919) % 500000 as amt from generate_series(1, ${n}) as i) s where k between 76 and 77
      union all
      -- GL-only: unknown references (2%), and manual journals
      select i, 3, date '2026-01-01' + (i % 300), 'Stripe Clearing', 1000 + i % 977, null,
        case when i % 50 = 0 then 'Journal Entry' end, array['ch_unknown_' || i], '{}'
      from generate_series(1, ${n}) as i where i % 50 in (0, 1)
    ) s`.execute(db);
}
