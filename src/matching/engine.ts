import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { currencyExponent } from '../money/index.js';
import type { MatchRule, MatchingConfig } from './rules.js';

/**
 * The matching engine: each rule is a handful of set-based statements over two working tables of
 * still-unmatched records (`w_bill`, `w_gl`, with their references unnested into `w_bill_ref` /
 * `w_gl_ref`). A rule proposes candidate pairs or groups; assignment is deterministic — closest date
 * first, then the stable key (billing record_key, GL line_key, in byte order), never the insertion
 * order — and only mutually-best pairs are taken, repeated until nothing new pairs. Whatever a rule
 * matches leaves the working tables, so later rules only see what is still open.
 *
 * Everything runs inside the caller's transaction: a run is all or nothing.
 */

export interface RuleResult {
  rule: string;
  kind: MatchRule['kind'];
  matches: number;
  billingRecords: number;
  glEntries: number;
}

export interface EngineScope {
  /** Only billing records dated in [from, to] compete; GL entries within the widest date window of it. */
  from?: string | undefined;
  to?: string | undefined;
}

/** `*` wildcards → ILIKE patterns (other LIKE metacharacters taken literally). */
export function globsToLike(globs: readonly string[]): string[] {
  return globs.map((g) => g.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%'));
}

function maxWindow(rules: readonly MatchRule[]): number {
  return Math.max(0, ...rules.map((r) => ('date_window_days' in r ? r.date_window_days : 0)));
}

export async function prepareWorkingSet(trx: Kysely<Database>, m: MatchingConfig, scope: EngineScope): Promise<void> {
  const recv = globsToLike(m.accounts.receivable.accounts);
  const clear = globsToLike(m.accounts.clearing.accounts);
  const recvSign = m.accounts.receivable.normal_side === 'credit' ? -1 : 1;
  const clearSign = m.accounts.clearing.normal_side === 'credit' ? -1 : 1;
  const pad = maxWindow(m.rules);
  const billDate = scope.from || scope.to
    ? sql`and b.occurred_on between ${scope.from ?? '0001-01-01'}::date and ${scope.to ?? '9999-12-31'}::date`
    : sql``;
  const glDate = scope.from || scope.to
    ? sql`and g.entry_date between ${scope.from ?? '0001-01-01'}::date - ${pad}::int and ${scope.to ?? '9999-12-31'}::date + ${pad}::int`
    : sql``;

  for (const t of ['w_bill', 'w_gl', 'w_bill_ref', 'w_gl_ref']) await sql`drop table if exists ${sql.table(t)}`.execute(trx);
  await sql`
    create temp table w_bill on commit drop as
    select b.id, b.record_key collate "C" as key, b.kind, b.account_class as cls, b.refs, b.customer_id,
      lower(b.customer_name) as cname, b.amount, b.currency, b.settlement_amount, b.settlement_currency,
      b.occurred_on as d, b.group_key
    from recon_billing_records b
    where b.active
      and not exists (select 1 from recon_match_members mm where mm.side = 'billing' and mm.record_id = b.id)
      ${billDate}`.execute(trx);
  await sql`
    create temp table w_gl on commit drop as
    select * from (
      select g.id, g.line_key collate "C" as key,
        case when g.account ilike any(${recv}::text[]) then 'receivable'
             when g.account ilike any(${clear}::text[]) then 'clearing' end as cls,
        g.stripe_ids || g.invoice_numbers as refs, lower(g.customer_name) as cname,
        g.amount * case when g.account ilike any(${recv}::text[]) then ${recvSign}::int else ${clearSign}::int end as amount,
        g.currency, g.entry_date as d, g.account, g.transaction_type, g.memo
      from gl_entries g
      where not exists (select 1 from recon_match_members mm where mm.side = 'gl' and mm.record_id = g.id)
        ${glDate}
    ) s where cls is not null`.execute(trx);
  await sql`
    create temp table w_bill_ref on commit drop as
    select distinct r.ref, b.id, b.key, b.kind, b.cls, b.amount, b.currency, b.d
    from w_bill b cross join lateral unnest(b.refs) as r(ref)`.execute(trx);
  await sql`
    create temp table w_gl_ref on commit drop as
    select distinct r.ref, g.id, g.key, g.cls, g.amount, g.currency, g.d
    from w_gl g cross join lateral unnest(g.refs) as r(ref)`.execute(trx);
  // Temp tables are never auto-analyzed; without statistics the planner guesses badly at scale.
  for (const t of ['w_bill', 'w_gl', 'w_bill_ref', 'w_gl_ref']) await sql`analyze ${sql.table(t)}`.execute(trx);
}

/** Candidate pairs → mutually-best pairs, repeated until stable; leaves them in `w_pairs`. */
async function assignPairs(trx: Kysely<Database>, candidates: RawBuilder<unknown>): Promise<void> {
  await sql`drop table if exists w_cand`.execute(trx);
  await sql`drop table if exists w_pairs`.execute(trx);
  await sql`create temp table w_cand on commit drop as ${candidates}`.execute(trx);
  await sql`create temp table w_pairs (bid bigint, gid bigint, variance bigint, vcur text) on commit drop`.execute(trx);
  for (let i = 0; i < 20; i++) {
    const res = await sql`
      insert into w_pairs (bid, gid, variance, vcur)
      select bid, gid, variance, vcur from (
        select c.*,
          row_number() over (partition by c.bid order by c.dd, c.gkey, c.gid) as rb,
          row_number() over (partition by c.gid order by c.dd, c.bkey, c.bid) as rg
        from w_cand c
      ) r where rb = 1 and rg = 1`.execute(trx);
    const n = Number(res.numAffectedRows ?? 0n);
    if (n === 0) break;
    const left = await sql`
      delete from w_cand c using w_pairs p where c.bid = p.bid or c.gid = p.gid`.execute(trx);
    if (Number(left.numAffectedRows ?? 0n) === 0) break;
    const remaining = await sql<{ n: bigint }>`select count(*) as n from w_cand`.execute(trx);
    if (remaining.rows[0]?.n === 0n) break;
  }
}

/**
 * Write the groups in `w_groups (grp, variance_kind, variance, vcur)` and their members in
 * `w_members (grp, side, rid)` as matches, in one statement, and take the members out of the
 * working set.
 */
async function writeGroups(trx: Kysely<Database>, runId: bigint, rule: MatchRule, now: Date): Promise<{ matches: number; bills: number; gls: number }> {
  const counts = await sql<{ m: bigint; b: bigint; g: bigint }>`
    select (select count(*) from w_groups) as m,
           (select count(*) from w_members where side = 'billing') as b,
           (select count(*) from w_members where side = 'gl') as g`.execute(trx);
  const c = counts.rows[0];
  if (!c || c.m === 0n) return { matches: 0, bills: 0, gls: 0 };
  await sql`
    with g as (
      select w.*, nextval(pg_get_serial_sequence('recon_matches', 'id')) as mid,
        (select count(*) from w_members x where x.grp = w.grp and x.side = 'billing') as bc,
        (select count(*) from w_members x where x.grp = w.grp and x.side = 'gl') as gc
      from w_groups w
    ), m as (
      insert into recon_matches (id, run_id, rule_name, rule_kind, variance_kind, variance_amount, variance_currency,
        billing_count, gl_count, created_at)
      select mid, ${runId}, ${rule.name}, ${rule.kind}, variance_kind, variance, vcur, bc, gc, ${now} from g
    )
    insert into recon_match_members (side, record_id, match_id)
    select w.side, w.rid, g.mid from w_members w join g on g.grp = w.grp`.execute(trx);
  await sql`delete from w_bill b using w_members m where m.side = 'billing' and m.rid = b.id`.execute(trx);
  await sql`delete from w_bill_ref b using w_members m where m.side = 'billing' and m.rid = b.id`.execute(trx);
  await sql`delete from w_gl g using w_members m where m.side = 'gl' and m.rid = g.id`.execute(trx);
  await sql`delete from w_gl_ref g using w_members m where m.side = 'gl' and m.rid = g.id`.execute(trx);
  return { matches: Number(c.m), bills: Number(c.b), gls: Number(c.g) };
}

async function pairsToGroups(trx: Kysely<Database>, varianceKind: RawBuilder<unknown>): Promise<void> {
  await sql`drop table if exists w_groups`.execute(trx);
  await sql`drop table if exists w_members`.execute(trx);
  await sql`
    create temp table w_groups on commit drop as
    select bid as grp, ${varianceKind} as variance_kind, variance, vcur from w_pairs`.execute(trx);
  await sql`
    create temp table w_members on commit drop as
    select bid as grp, 'billing'::text as side, bid as rid from w_pairs
    union all select bid, 'gl', gid from w_pairs`.execute(trx);
}

function kindsFilter(rule: MatchRule, alias: string): RawBuilder<unknown> {
  if (!('kinds' in rule) || !rule.kinds) return sql`true`;
  return sql`${sql.ref(`${alias}.kind`)} = any(${rule.kinds}::text[])`;
}

async function runReferenceRule(
  trx: Kysely<Database>,
  rule: Extract<MatchRule, { kind: 'exact' | 'tolerance' }>,
): Promise<void> {
  let amountOk: RawBuilder<unknown>;
  if (rule.kind === 'exact') {
    amountOk = sql`true`;
  } else {
    const abs = rule.max_minor_units === undefined ? sql`false` : sql`abs(g.amount - b.amount) <= ${rule.max_minor_units}::bigint`;
    const pct = rule.max_percent === undefined ? sql`false` : sql`abs(g.amount - b.amount)::numeric * 100 <= ${rule.max_percent}::numeric * abs(b.amount)`;
    amountOk = sql`(${abs} or ${pct})`;
  }
  // exact joins on the amount too, so the hash join does the filtering at scale
  const amountJoin = rule.kind === 'exact' ? sql`and g.amount = b.amount` : sql``;
  await assignPairs(
    trx,
    sql`
      select b.id as bid, g.id as gid, b.key as bkey, g.key as gkey, abs(g.d - b.d) as dd,
        (g.amount - b.amount)::bigint as variance, b.currency as vcur
      from w_bill_ref b
      join w_gl_ref g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency ${amountJoin}
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${kindsFilter(rule, 'b')} and ${amountOk}
      group by b.id, g.id, b.key, g.key, g.d, b.d, g.amount, b.amount, b.currency`,
  );
  await pairsToGroups(trx, rule.kind === 'exact' ? sql`case when variance = 0 then 'none' else 'rounding' end` : sql`case when variance = 0 then 'none' else 'rounding' end`);
}

async function runFxRule(trx: Kysely<Database>, rule: Extract<MatchRule, { kind: 'fx' }>, rates: Record<string, string>, reporting: string): Promise<void> {
  // Configured rates (reporting-currency units per unit) as a small table, with each currency's
  // minor-unit exponent, for converting when Stripe gave no settlement amount.
  const all = { ...rates, [reporting]: '1' };
  const rows = Object.entries(all).map(([cur, rate]) => sql`(${cur}::text, ${rate}::numeric, ${currencyExponent(cur)}::int)`);
  await sql`drop table if exists w_rates`.execute(trx);
  await sql`create temp table w_rates (currency text primary key, rate numeric not null, exp int not null) on commit drop`.execute(trx);
  if (rows.length) await sql`insert into w_rates values ${sql.join(rows)}`.execute(trx);
  await assignPairs(
    trx,
    sql`
      select c.bid, c.gid, c.bkey, c.gkey, c.dd, (c.gamount - c.expected)::bigint as variance, c.gcur as vcur from (
        select b.id as bid, g.id as gid, b.key as bkey, g.key as gkey, abs(g.d - b.d) as dd, g.amount as gamount, g.currency as gcur,
          coalesce(
            case when g.currency = wb.settlement_currency then wb.settlement_amount end,
            round(b.amount::numeric / power(10, rb.exp) * rb.rate / rg.rate * power(10, rg.exp))::bigint
          ) as expected
        from w_bill_ref b
        join w_gl_ref g on g.ref = b.ref and g.cls = b.cls and g.currency <> b.currency
        join w_bill wb on wb.id = b.id
        left join w_rates rb on rb.currency = b.currency
        left join w_rates rg on rg.currency = g.currency
        where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${kindsFilter(rule, 'b')}
        group by b.id, g.id, b.key, g.key, g.d, b.d, g.amount, g.currency, b.amount, wb.settlement_currency, wb.settlement_amount, rb.exp, rb.rate, rg.rate, rg.exp
      ) c
      where c.expected is not null and c.expected <> 0
        and abs(c.gamount - c.expected)::numeric * 100 <= ${rule.max_percent}::numeric * abs(c.expected)`,
  );
  await pairsToGroups(trx, sql`'fx_timing'`);
}

async function runWindowRule(trx: Kysely<Database>, rule: Extract<MatchRule, { kind: 'window' }>): Promise<void> {
  await assignPairs(
    trx,
    sql`
      select b.id as bid, g.id as gid, b.key as bkey, g.key as gkey, abs(g.d - b.d) as dd, 0::bigint as variance, b.currency as vcur
      from w_bill b
      join w_gl g on g.cls = b.cls and g.currency = b.currency and g.amount = b.amount
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${kindsFilter(rule, 'b')}
        and ((b.customer_id is not null and b.customer_id = any(g.refs)) or (b.cname is not null and b.cname = g.cname))`,
  );
  await pairsToGroups(trx, sql`'none'`);
}

async function runOneToMany(trx: Kysely<Database>, rule: Extract<MatchRule, { kind: 'aggregate' }>): Promise<void> {
  await sql`drop table if exists w_agg`.execute(trx);
  await sql`drop table if exists w_groups`.execute(trx);
  await sql`drop table if exists w_members`.execute(trx);
  // every unmatched GL line sharing a reference with the billing record, same class and currency
  await sql`
    create temp table w_agg on commit drop as
    select distinct b.id as bid, b.key as bkey, g.id as gid, g.amount as gamount, b.amount as bamount, b.currency
    from w_bill_ref b join w_gl_ref g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency
    where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${kindsFilter(rule, 'b')}`.execute(trx);
  // groups that sum to the billing amount; a GL line wanted by two groups goes to the first by key
  await sql`
    create temp table w_groups on commit drop as
    with sums as (
      select bid, min(bkey) as bkey, min(bamount) as bamount, min(currency) as currency, sum(gamount) as total, count(*) as n
      from w_agg group by bid
    ), ok as (
      select * from sums where n >= 2 and abs(total - bamount) <= ${rule.max_minor_units}::bigint
    ), owner as (
      select a.gid, min(ok.bkey) as bkey from w_agg a join ok on ok.bid = a.bid group by a.gid
    )
    select ok.bid as grp, case when ok.total = ok.bamount then 'none' else 'rounding' end as variance_kind,
      (ok.total - ok.bamount)::bigint as variance, ok.currency as vcur
    from ok
    where not exists (select 1 from w_agg a join owner o on o.gid = a.gid where a.bid = ok.bid and o.bkey <> ok.bkey)`.execute(trx);
  await sql`
    create temp table w_members on commit drop as
    select grp, 'billing'::text as side, grp as rid from w_groups
    union all
    select a.bid, 'gl', a.gid from w_agg a join w_groups w on w.grp = a.bid`.execute(trx);
}

async function runManyToOne(trx: Kysely<Database>, rule: Extract<MatchRule, { kind: 'aggregate' }>): Promise<void> {
  await sql`drop table if exists w_groups`.execute(trx);
  await sql`drop table if exists w_members`.execute(trx);
  await sql`drop table if exists w_agg`.execute(trx);
  // billing records grouped by what they were paid out in (settlement amounts: that is what landed)
  await sql`
    create temp table w_agg on commit drop as
    with grp as (
      select b.group_key, b.cls, coalesce(b.settlement_currency, b.currency) as currency,
        sum(coalesce(b.settlement_amount, b.amount)) as total, max(b.d) as d, count(*) as n
      from w_bill b where b.group_key is not null and ${kindsFilter(rule, 'b')}
      group by b.group_key, b.cls, coalesce(b.settlement_currency, b.currency)
    ), cand as (
      select grp.group_key, grp.currency, g.id as gid, g.key as gkey, g.amount - grp.total as variance,
        row_number() over (partition by grp.group_key, grp.currency order by abs(g.d - grp.d), g.key) as rn_g
      from grp join w_gl_ref g on g.ref = grp.group_key and g.cls = grp.cls and g.currency = grp.currency
      where grp.n >= 2 and abs(g.d - grp.d) <= ${rule.date_window_days}::int
        and abs(g.amount - grp.total) <= ${rule.max_minor_units}::bigint
    )
    select c.*, row_number() over (partition by c.gid order by c.group_key collate "C", c.currency) as rn_b
    from cand c where c.rn_g = 1`.execute(trx);
  await sql`
    create temp table w_groups on commit drop as
    select gid as grp, case when variance = 0 then 'none' else 'rounding' end as variance_kind, variance::bigint as variance, currency as vcur
    from w_agg where rn_b = 1`.execute(trx);
  await sql`
    create temp table w_members on commit drop as
    select a.gid as grp, 'gl'::text as side, a.gid as rid from w_agg a where a.rn_b = 1
    union all
    select a.gid, 'billing', b.id from w_agg a
    join w_bill b on b.group_key = a.group_key and coalesce(b.settlement_currency, b.currency) = a.currency and ${kindsFilter(rule, 'b')}
    where a.rn_b = 1`.execute(trx);
}

async function runExpectedGlOnly(trx: Kysely<Database>, rule: Extract<MatchRule, { kind: 'expected_gl_only' }>): Promise<void> {
  const conds: RawBuilder<unknown>[] = [];
  if (rule.accounts?.length) conds.push(sql`g.account ilike any(${globsToLike(rule.accounts)}::text[])`);
  if (rule.transaction_types?.length) conds.push(sql`lower(g.transaction_type) = any(${rule.transaction_types.map((t) => t.toLowerCase())}::text[])`);
  if (rule.memo_patterns?.length) conds.push(sql`g.memo ~* any(${rule.memo_patterns}::text[])`);
  await sql`drop table if exists w_groups`.execute(trx);
  await sql`drop table if exists w_members`.execute(trx);
  const where = conds.length ? sql.join(conds, sql` and `) : sql`false`;
  await sql`
    create temp table w_groups on commit drop as
    select g.id as grp, 'expected'::text as variance_kind, 0::bigint as variance, g.currency as vcur
    from w_gl g where ${where}`.execute(trx);
  await sql`create temp table w_members on commit drop as select grp, 'gl'::text as side, grp as rid from w_groups`.execute(trx);
}

export async function runRules(
  trx: Kysely<Database>,
  runId: bigint,
  m: MatchingConfig,
  opts: { now: Date; fxRates: Record<string, string>; reportingCurrency: string },
): Promise<RuleResult[]> {
  const results: RuleResult[] = [];
  for (const rule of m.rules) {
    if (!rule.enabled) continue;
    switch (rule.kind) {
      case 'exact':
      case 'tolerance':
        await runReferenceRule(trx, rule);
        break;
      case 'fx':
        await runFxRule(trx, rule, opts.fxRates, opts.reportingCurrency);
        break;
      case 'window':
        await runWindowRule(trx, rule);
        break;
      case 'aggregate':
        await (rule.mode === 'one_to_many' ? runOneToMany(trx, rule) : runManyToOne(trx, rule));
        break;
      case 'expected_gl_only':
        await runExpectedGlOnly(trx, rule);
        break;
    }
    const w = await writeGroups(trx, runId, rule, opts.now);
    results.push({ rule: rule.name, kind: rule.kind, matches: w.matches, billingRecords: w.bills, glEntries: w.gls });
  }
  return results;
}
