/**
 * `npm run bench -- collections [N] [--rounds=R]`: the collections job and AR aging over N owed
 * invoices (default 100,000; two thirds sent for payment with a due date, one third charged
 * automatically without one; USD / EUR / JPY; due from 130 days ago to 10 days ahead) plus N/2 paid
 * ones, N/5 customers (1% with a promise to pay in force), on real PostgreSQL, in America/New_York.
 * Dunning history is generated as the shipped policy would have left it yesterday (every step due by
 * then done), so today a few percent of the invoices have a new step due — as on any morning.
 *
 * Measured, R rounds (default 3) after a warm-up where it makes sense:
 *  - decide: `planCollections` (the set-based query that finds each invoice's due step, counted);
 *  - the job run that performs today's steps (once: it changes state), with a Slack notifier and
 *    Stripe stand-in that return at once, so the figure is billops' own work per step;
 *  - a steady-state run right after (nothing left to do: the whole cost of a run that decides only);
 *  - `agingReport` (buckets per currency, reporting totals, top overdue accounts).
 * Baseline, same run: one plain `group by currency` over the owed invoices.
 */
import { type Kysely, sql } from 'kysely';
import { type CollectionsNotifier, agingReport, localCollectionsStripe, planCollections, runCollections } from '../src/collections/index.js';
import { parseBillopsYaml, parseEnv } from '../src/config/index.js';
import type { Database } from '../src/db/index.js';
import { ManualClock, silentLogger } from '../src/util/index.js';
import { createBenchDb, fmtMs, percentile, say, timed } from './lib.js';

const NOW = new Date('2026-11-10T14:00:00Z'); // 09:00 in New York
const TZ = 'America/New_York';

export async function run(args: string[]): Promise<void> {
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 100_000);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 3);
  const db = await createBenchDb('collections');
  try {
    say(`collections benchmark: ${n.toLocaleString('en-US')} owed invoices (+${Math.floor(n / 2).toLocaleString('en-US')} paid), ${rounds} rounds after a warm-up`);
    const gen = await timed(() => generate(db.db, n));
    await sql`analyze`.execute(db.db);
    const history = await sql<{ n: string }>`select count(*)::text as n from collection_steps`.execute(db.db);
    say(`  data generated in ${fmtMs(gen.ms)} (not timed below); ${Number(history.rows[0]?.n ?? 0).toLocaleString('en-US')} steps of dunning history`);

    const file = parseBillopsYaml(`
org:
  timezone: ${TZ}
  reporting_currency: USD
  fx_rates: { EUR: "1.08", JPY: "0.0066" }
slack:
  channels: { collections: C0BENCHCOL, finance: C0BENCHFIN }
collections:
  lead: U0BENCHLEAD
  batch_size: 500
`);
    const deps = { db: db.db, config: { env: parseEnv({}), file, filePath: null }, clock: new ManualClock(NOW), logger: silentLogger };
    let posted = 0;
    const notifier: CollectionsNotifier = {
      dm: async (u) => ({ channel: `D${u}`, ts: `${++posted}.0` }),
      postChannel: async (c) => ({ channel: c, ts: `${++posted}.0` }),
    };
    const runDeps = { ...deps, notifier, stripe: localCollectionsStripe(), workerId: 'bench', source: 'bench' };

    const baseline: number[] = [];
    const decide: number[] = [];
    const aging: number[] = [];
    let due = 0;
    for (let r = 0; r <= rounds; r += 1) {
      const b = await timed(() =>
        sql`select currency, count(*), sum(amount_remaining) from stripe_invoices where status = 'open' and amount_remaining > 0 and deleted_at is null group by currency`.execute(db.db),
      );
      const p = await timed(() => planCollections(deps));
      const a = await timed(() => agingReport(deps));
      due = p.value.due;
      if (r === 0) continue;
      baseline.push(b.ms);
      decide.push(p.ms);
      aging.push(a.ms);
    }
    const job = await timed(() => runCollections(runDeps));
    const steady: number[] = [];
    for (let r = 0; r <= rounds; r += 1) {
      const s = await timed(() => runCollections(runDeps));
      if (s.value.performed !== 0) throw new Error(`a second run performed ${s.value.performed} steps`);
      if (r > 0) steady.push(s.ms);
    }

    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const med = (xs: number[]) => percentile(sorted(xs), 50);
    const line = (label: string, xs: number[]) => say(`  ${label.padEnd(44)} median ${fmtMs(med(xs)).padStart(9)}   max ${fmtMs(Math.max(...xs)).padStart(9)}`);
    say('');
    line('decide (planCollections)', decide);
    line('steady-state run (nothing due: decide only)', steady);
    line('aging (agingReport)', aging);
    line('baseline: plain group by currency', baseline);
    const s = job.value;
    say(
      `  job run performing today's steps: ${fmtMs(job.ms)} for ${s.performed.toLocaleString('en-US')} steps ` +
        `(${s.skipped.toLocaleString('en-US')} earlier ones skipped, ${s.paused} on hold, ${posted} Slack messages, ` +
        `${(s.performed / (job.ms / 1000)).toFixed(0)} steps/s); planned due before the run: ${due.toLocaleString('en-US')}`,
    );
    say(`  ratio decide / baseline (median): ${(med(decide) / med(baseline)).toFixed(1)}×; aging / baseline: ${(med(aging) / med(baseline)).toFixed(1)}×; steady run / baseline: ${(med(steady) / med(baseline)).toFixed(1)}×`);
  } finally {
    await db.drop();
  }
}

/** N owed invoices, N/2 paid ones, N/5 customers, and the dunning history the default policy left yesterday. */
async function generate(db: Kysely<Database>, n: number): Promise<void> {
  const customers = Math.max(1, Math.floor(n / 5));
  const v = sql`${NOW}::timestamptz, 0, ${NOW}::timestamptz, ${NOW}::timestamptz`;
  await sql`
    insert into stripe_customers (id, email, name, currency, metadata, livemode, created, raw, version_at, version_rank, synced_at, changed_at)
    select 'cus_b' || c, 'ap' || c || '@example.com', 'Customer ' || c, 'usd',
      case when c % 3 = 0 then '{}'::jsonb else jsonb_build_object('account_owner', 'U0OWN' || lpad((c % 50)::text, 4, '0')) end,
      false, ${NOW}::timestamptz - interval '400 days', '{}'::jsonb, ${v}
    from generate_series(0, ${customers - 1}) as c`.execute(db);
  await sql`
    insert into stripe_invoices (id, number, customer_id, status, currency, amount_due, amount_paid, amount_remaining, subtotal, total, tax,
      collection_method, due_date, attempt_count, attempted, next_payment_attempt, finalized_at, lines_complete, livemode, created,
      raw, version_at, version_rank, synced_at, changed_at)
    select 'in_b' || i, 'B-' || i, 'cus_b' || (i % ${customers}), 'open', (array['USD','USD','USD','EUR','JPY'])[1 + i % 5],
      a, 0, a, a, a, 0,
      case when i % 3 = 0 then 'charge_automatically' else 'send_invoice' end,
      case when i % 3 = 0 then null else ${NOW}::timestamptz - make_interval(days => (i * 13) % 141 - 10) end,
      case when i % 3 = 0 then 1 + i % 4 else 0 end, i % 3 = 0,
      case when i % 3 = 0 and i % 4 <> 0 then ${NOW}::timestamptz + interval '2 days' end,
      case when i % 3 = 0 then ${NOW}::timestamptz - make_interval(days => (i * 7) % 131, hours => 2) else ${NOW}::timestamptz - interval '160 days' end,
      true, false, ${NOW}::timestamptz - interval '160 days', '{}'::jsonb, ${v}
    from (select i, 1000 + (i::bigint * 7919) % 500000 as a from generate_series(1, ${n}) as i) s`.execute(db);
  await sql`
    insert into stripe_invoices (id, number, customer_id, status, currency, amount_due, amount_paid, amount_remaining, subtotal, total, tax,
      collection_method, attempt_count, attempted, finalized_at, paid_at, lines_complete, livemode, created, raw, version_at, version_rank, synced_at, changed_at)
    select 'in_p' || i, 'P-' || i, 'cus_b' || (i % ${customers}), 'paid', 'USD', 4900, 4900, 0, 4900, 4900, 0, 'charge_automatically', 1, true,
      ${NOW}::timestamptz - make_interval(days => i % 120), ${NOW}::timestamptz - make_interval(days => i % 120), true, false,
      ${NOW}::timestamptz - make_interval(days => i % 120), '{}'::jsonb, ${v}
    from generate_series(1, ${Math.floor(n / 2)}) as i`.execute(db);
  await sql`
    insert into collection_pauses (customer_id, until_day, note, set_by, source, created_at)
    select 'cus_b' || c, (${NOW}::timestamptz at time zone ${TZ})::date + 5, 'promised', 'U0BENCH', 'bench', ${NOW}::timestamptz - interval '2 days'
    from generate_series(0, ${customers - 1}, 100) as c`.execute(db);
  // Yesterday's state under the shipped policy: every step due by yesterday done on its day.
  await sql`
    with owed as (
      select i.id, i.customer_id, i.currency, i.amount_remaining,
        case when i.collection_method = 'send_invoice' then 'enterprise' else 'self_serve' end as segment,
        case when i.due_date is not null then (i.due_date at time zone ${TZ})::date else (i.finalized_at at time zone ${TZ})::date end as due_on
      from stripe_invoices i where i.status = 'open' and i.amount_remaining > 0
    )
    insert into collection_steps (invoice_id, step_id, segment, customer_id, step_day, step_kind, due_on, status, idempotency_key, attempts,
      effects_done, amount_remaining, currency, claimed_on, claimed_at, finished_at, updated_at)
    select o.id, st.step_id, o.segment, o.customer_id, st.day, st.kind, o.due_on, 'done', 'collections:' || o.id || ':' || st.step_id, 1,
      '{}', o.amount_remaining, o.currency, o.due_on + st.day, ${NOW}::timestamptz - interval '1 day', ${NOW}::timestamptz - interval '1 day', ${NOW}::timestamptz - interval '1 day'
    from owed o
    join (values ('enterprise', 'due_soon', -3, 'reminder'), ('enterprise', 'overdue_1', 1, 'reminder'), ('enterprise', 'overdue_7', 7, 'follow_up'),
      ('enterprise', 'escalate_owner', 14, 'escalation'), ('enterprise', 'formal', 30, 'formal'),
      ('self_serve', 'payment_failed_1', 1, 'reminder'), ('self_serve', 'payment_failed_7', 7, 'follow_up'),
      ('self_serve', 'escalate_owner', 14, 'escalation'), ('self_serve', 'formal', 30, 'formal')) as st (segment, step_id, day, kind)
      on st.segment = o.segment and st.day <= (${NOW}::timestamptz at time zone ${TZ})::date - 1 - o.due_on`.execute(db);
}
