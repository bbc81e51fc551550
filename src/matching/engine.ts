import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { currencyExponent } from '../money/index.js';
import type { MatchRule, MatchingConfig } from './rules.js';

/**
 * The matching engine. Each rule is a handful of set-based statements over working tables of the
 * still-open records:
 *   w_bill_ref / w_gl_ref   one row per (reference, record): what reference rules hash-join on
 *   w_bill / w_gl           the full open records, for window / aggregate / expected rules
 * The first rule, when it is a reference rule (the default `exact-reference`, which takes the bulk),
 * joins the base tables directly; the working tables are then built from what it left, which is
 * small. A rule proposes candidate pairs or groups. Assignment is deterministic: a pair that is the
 * only candidate on both sides is taken directly; the rest are ranked (closest date first, then the
 * stable key — billing record_key, GL line_key, in byte order — never insertion order) and only
 * mutually-best pairs are taken, repeated until nothing new pairs. What a rule matches leaves the
 * working tables, so later rules only see what is still open. One-to-one matches are written in
 * batches (`recon_pair_batches`), groups one row each (`recon_match_groups`).
 *
 * Everything runs inside the caller's transaction: a run is all or nothing.
 */

/** Pairs per `recon_pair_batches` row. */
export const PAIR_BATCH_SIZE = 4096;

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

type Trx = Kysely<Database>;

async function drop(trx: Trx, ...tables: string[]): Promise<void> {
  for (const t of tables) await sql`drop table if exists ${sql.table(t)}`.execute(trx);
}

async function analyze(trx: Trx, ...tables: string[]): Promise<void> {
  // Temp tables are never auto-analyzed; without statistics the planner guesses badly at scale.
  for (const t of tables) await sql`analyze ${sql.table(t)}`.execute(trx);
}

export class Engine {
  private fullBuilt = false;
  private refsBuilt = false;
  /** Set when the current rule produced one-to-one pairs (in w_pairs) rather than groups (in w_out). */
  private pairVarianceKind: RawBuilder<unknown> | null = null;
  private readonly billDate: RawBuilder<unknown>;
  private readonly glDate: RawBuilder<unknown>;

  constructor(
    private readonly trx: Trx,
    private readonly m: MatchingConfig,
    scope: EngineScope,
    private readonly run: { id: bigint; now: Date; fxRates: Record<string, string>; reportingCurrency: string },
  ) {
    const pad = maxWindow(m.rules);
    this.billDate =
      scope.from || scope.to ? sql`and b.occurred_on between ${scope.from ?? '0001-01-01'}::date and ${scope.to ?? '9999-12-31'}::date` : sql``;
    this.glDate =
      scope.from || scope.to
        ? sql`and g.entry_date between ${scope.from ?? '0001-01-01'}::date - ${pad}::int and ${scope.to ?? '9999-12-31'}::date + ${pad}::int`
        : sql``;
  }

  /** The account classification and the done-sets; the working tables come when a rule needs them. */
  async prepare(): Promise<void> {
    const { trx, m } = this;
    // Big hash joins and sorts: give this transaction the memory to keep them out of temp files.
    await sql`set local work_mem = '256MB'`.execute(trx);
    // Row estimates over unnested references and fresh temp tables are rough, and JIT compiling a
    // statement the planner wrongly believes huge costs a second or more each; a merge join it picks
    // on such estimates sorts a million references by collation. The work here is hash joins and
    // hash aggregates.
    await sql`set local jit = off`.execute(trx);
    await sql`set local enable_mergejoin = off`.execute(trx);
    await drop(trx, 'w_acct', 'w_done_b', 'w_done_g', 'w_bill_ref', 'w_gl_ref', 'w_bill', 'w_gl', 'w_matched');
    await sql`create temp table w_matched (kind text, bn bigint, bsum bigint, bcur text, gn bigint, gsum bigint, gcur text) on commit drop`.execute(trx);
    const recvSign = m.accounts.receivable.normal_side === 'credit' ? -1 : 1;
    const clearSign = m.accounts.clearing.normal_side === 'credit' ? -1 : 1;
    // Classify each distinct account once (hundreds), not each GL line (millions).
    await sql`
      create temp table w_acct on commit drop as
      select account, cls, case cls when 'receivable' then ${recvSign}::int else ${clearSign}::int end as sign from (
        select account,
          case when account ilike any(${globsToLike(m.accounts.receivable.accounts)}::text[]) then 'receivable'
               when account ilike any(${globsToLike(m.accounts.clearing.accounts)}::text[]) then 'clearing' end as cls
        from (select distinct account from gl_entries) a
      ) c where cls is not null`.execute(trx);
    // Records matched in earlier runs; this run's matches are added as they are written.
    await sql`create temp table w_done_b on commit drop as select record_id as id from recon_match_members where side = 'billing'`.execute(trx);
    await sql`create temp table w_done_g on commit drop as select record_id as id from recon_match_members where side = 'gl'`.execute(trx);
    await analyze(trx, 'w_acct', 'w_done_b', 'w_done_g');
  }

  /** Open records, one row per reference: as a query (for the first rule) or a table. */
  private billRefSource(): RawBuilder<unknown> {
    return sql`(
      select unnest(b.refs) as ref, b.id, b.kind, b.account_class as cls, b.amount, b.currency, b.occurred_on as d
      from recon_billing_records b
      where b.active and b.id not in (select id from w_done_b) ${this.billDate})`;
  }

  private glRefSource(): RawBuilder<unknown> {
    return sql`(
      select unnest(g.stripe_ids || g.invoice_numbers) as ref, g.id, a.cls, g.amount * a.sign as amount, g.currency, g.entry_date as d
      from gl_entries g join w_acct a on a.account = g.account
      where g.id not in (select id from w_done_g) ${this.glDate})`;
  }

  private async buildRefs(): Promise<void> {
    const { trx } = this;
    await drop(trx, 'w_bill_ref', 'w_gl_ref');
    await sql`create temp table w_bill_ref on commit drop as select * from ${this.billRefSource()} s`.execute(trx);
    await sql`create temp table w_gl_ref on commit drop as select * from ${this.glRefSource()} s`.execute(trx);
    await analyze(trx, 'w_bill_ref', 'w_gl_ref');
    this.refsBuilt = true;
  }

  /** The full open records, for the rules that need more than references (built once, when small). */
  private async buildFull(): Promise<void> {
    const { trx } = this;
    await drop(trx, 'w_bill', 'w_gl');
    await sql`
      create temp table w_bill on commit drop as
      select b.id, b.record_key collate "C" as key, b.kind, b.account_class as cls, b.refs, b.customer_id,
        lower(b.customer_name) as cname, b.amount, b.currency, b.settlement_amount, b.settlement_currency,
        b.occurred_on as d, b.group_key
      from recon_billing_records b
      where b.active and b.id not in (select id from w_done_b) ${this.billDate}`.execute(trx);
    await sql`
      create temp table w_gl on commit drop as
      select g.id, g.line_key collate "C" as key, a.cls, g.stripe_ids || g.invoice_numbers as refs,
        lower(g.customer_name) as cname, g.amount * a.sign as amount, g.currency, g.entry_date as d, g.account,
        g.transaction_type, g.memo
      from gl_entries g join w_acct a on a.account = g.account
      where g.id not in (select id from w_done_g) ${this.glDate}`.execute(trx);
    await analyze(trx, 'w_bill', 'w_gl');
    this.fullBuilt = true;
  }

  /** After all rules: make sure the full open tables exist (exception derivation reads them). */
  async finish(): Promise<void> {
    if (!this.refsBuilt) await this.buildRefs();
    if (!this.fullBuilt) await this.buildFull();
  }

  async runAll(): Promise<RuleResult[]> {
    const results: RuleResult[] = [];
    let first = true;
    for (const rule of this.m.rules) {
      if (!rule.enabled) continue;
      // The first rule, if a reference rule, reads the base tables; every other rule the working set.
      const onBase = first && (rule.kind === 'exact' || rule.kind === 'tolerance');
      first = false;
      if (!onBase && !this.refsBuilt) await this.buildRefs();
      await drop(this.trx, 'w_out');
      this.pairVarianceKind = null;
      // What the rule matched: member ids and sums per match, written to recon_matches in one insert.
      await sql`
        create temp table w_out (billing_ids bigint[] not null, gl_ids bigint[] not null, variance_kind text not null,
          variance bigint not null, vcur text, bsum bigint not null, bcur text, gsum bigint not null, gcur text) on commit drop`.execute(this.trx);
      switch (rule.kind) {
        case 'exact':
        case 'tolerance':
          await this.referenceRule(rule, onBase);
          break;
        case 'fx':
          await this.fxRule(rule);
          break;
        case 'window':
          await this.windowRule(rule);
          break;
        case 'aggregate':
          await (rule.mode === 'one_to_many' ? this.oneToMany(rule) : this.manyToOne(rule));
          break;
        case 'expected_gl_only':
          await this.expectedGlOnly(rule);
          break;
      }
      results.push({ rule: rule.name, kind: rule.kind, ...(await this.write(rule)) });
    }
    await this.finish();
    return results;
  }

  /** Sums of what this run matched, per side and currency (for the run summary). */
  async matchedTotals(): Promise<{ billing: Array<{ currency: string; n: bigint; total: string }>; gl: Array<{ currency: string; n: bigint; total: string }>; expected: Array<{ currency: string; n: bigint; total: string }> }> {
    const b = await sql<{ currency: string; n: bigint; total: string }>`
      select bcur as currency, sum(bn)::bigint as n, sum(bsum)::text as total from w_matched
      where bcur is not null and kind <> 'expected_gl_only' group by bcur order by bcur`.execute(this.trx);
    const g = await sql<{ currency: string; n: bigint; total: string }>`
      select gcur as currency, sum(gn)::bigint as n, sum(gsum)::text as total from w_matched
      where gcur is not null and kind <> 'expected_gl_only' group by gcur order by gcur`.execute(this.trx);
    const e = await sql<{ currency: string; n: bigint; total: string }>`
      select gcur as currency, sum(gn)::bigint as n, sum(gsum)::text as total from w_matched
      where gcur is not null and kind = 'expected_gl_only' group by gcur order by gcur`.execute(this.trx);
    return { billing: b.rows, gl: g.rows, expected: e.rows };
  }

  private async write(rule: MatchRule): Promise<{ matches: number; billingRecords: number; glEntries: number }> {
    return this.pairVarianceKind ? this.writePairs(rule, this.pairVarianceKind) : this.writeGroups(rule);
  }

  /** One-to-one pairs (w_pairs) → `recon_pair_batches`, each pair with its own match id. */
  private async writePairs(rule: MatchRule, vk: RawBuilder<unknown>): Promise<{ matches: number; billingRecords: number; glEntries: number }> {
    const { trx } = this;
    const count = Number((await sql<{ n: bigint }>`select count(*) as n from w_pairs`.execute(trx)).rows[0]?.n ?? 0n);
    if (count === 0) return { matches: 0, billingRecords: 0, glEntries: 0 };
    // Reserve a block of match ids from the sequence every match draws from (the run holds the
    // reconcile lock, and nextval/setval are atomic besides).
    const seq = sql`pg_get_serial_sequence('recon_match_groups', 'id')`;
    const firstId = (await sql<{ id: bigint }>`select nextval(${seq}) as id`.execute(trx)).rows[0]?.id;
    if (firstId === undefined) throw new Error('could not reserve match ids');
    await sql`select setval(${seq}, ${firstId}::bigint + ${count - 1}::bigint, true)`.execute(trx);
    // Numbered in billing-record order: the same data gets the same match ids.
    await sql`
      insert into recon_pair_batches (run_id, rule_name, rule_kind, variance_kind, variance_currency,
        match_ids, billing_ids, gl_ids, variances, created_at)
      select ${this.run.id}, ${rule.name}, ${rule.kind}, vkind, vcur,
        array_agg(${firstId}::bigint + rn - 1 order by rn), array_agg(bid order by rn), array_agg(gid order by rn),
        array_agg(variance order by rn), ${this.run.now}
      from (select bid, gid, variance, vcur, ${vk} as vkind, row_number() over (order by bid) as rn from w_pairs) s
      group by (rn - 1) / ${PAIR_BATCH_SIZE}, vkind, vcur`.execute(trx);
    await sql`
      insert into w_matched
      select ${rule.kind}, count(*), sum(bamount), bcur, count(*), sum(gamount), gcur from w_pairs group by bcur, gcur`.execute(trx);
    await sql`insert into w_done_b select bid from w_pairs`.execute(trx);
    await sql`insert into w_done_g select gid from w_pairs`.execute(trx);
    await this.shrink(sql`(select bid as id from w_pairs)`, sql`(select gid as id from w_pairs)`, count);
    return { matches: count, billingRecords: count, glEntries: count };
  }

  /** Groups (w_out) → `recon_match_groups`, one row per match. */
  private async writeGroups(rule: MatchRule): Promise<{ matches: number; billingRecords: number; glEntries: number }> {
    const { trx } = this;
    const c = (
      await sql<{ m: bigint; b: bigint; g: bigint }>`
        select count(*) as m, coalesce(sum(cardinality(billing_ids)), 0)::bigint as b, coalesce(sum(cardinality(gl_ids)), 0)::bigint as g
        from w_out`.execute(trx)
    ).rows[0];
    if (!c || c.m === 0n) return { matches: 0, billingRecords: 0, glEntries: 0 };
    await sql`
      insert into recon_match_groups (run_id, rule_name, rule_kind, variance_kind, variance_amount, variance_currency,
        billing_ids, gl_ids, billing_count, gl_count, created_at)
      select ${this.run.id}, ${rule.name}, ${rule.kind}, variance_kind, variance, vcur, billing_ids, gl_ids,
        cardinality(billing_ids), cardinality(gl_ids), ${this.run.now}
      from w_out s
      order by billing_ids, gl_ids`.execute(trx);
    await sql`
      insert into w_matched
      select ${rule.kind}, sum(cardinality(billing_ids)), sum(bsum), bcur, sum(cardinality(gl_ids)), sum(gsum), gcur
      from w_out group by bcur, gcur`.execute(trx);
    await drop(trx, 'w_new_b', 'w_new_g');
    await sql`create temp table w_new_b on commit drop as select unnest(billing_ids) as id from w_out`.execute(trx);
    await sql`create temp table w_new_g on commit drop as select unnest(gl_ids) as id from w_out`.execute(trx);
    await sql`insert into w_done_b select id from w_new_b`.execute(trx);
    await sql`insert into w_done_g select id from w_new_g`.execute(trx);
    await this.shrink(sql`w_new_b`, sql`w_new_g`, Number(c.b + c.g));
    return { matches: Number(c.m), billingRecords: Number(c.b), glEntries: Number(c.g) };
  }

  /** What matched leaves the working tables that exist. */
  private async shrink(newB: RawBuilder<unknown>, newG: RawBuilder<unknown>, matched: number): Promise<void> {
    const { trx } = this;
    // Rebuilt by a hash anti-join when much of it went, deleted in place when little did.
    const shrinkOne = async (t: string, gone: RawBuilder<unknown>) => {
      const size = Number((await sql<{ n: bigint }>`select count(*) as n from ${sql.table(t)}`.execute(trx)).rows[0]?.n ?? 0n);
      if (size === 0) return;
      if (matched * 4 > size) {
        await sql`create temp table ${sql.raw(`${t}_next`)} on commit drop as
          select * from ${sql.table(t)} x where x.id not in (select id from ${gone} d)`.execute(trx);
        await sql`drop table ${sql.table(t)}`.execute(trx);
        await sql`alter table ${sql.raw(`${t}_next`)} rename to ${sql.raw(t)}`.execute(trx);
        await analyze(trx, t);
      } else {
        await sql`delete from ${sql.table(t)} x using ${gone} d where d.id = x.id`.execute(trx);
      }
    };
    if (this.refsBuilt) {
      await shrinkOne('w_bill_ref', newB);
      await shrinkOne('w_gl_ref', newG);
    }
    if (this.fullBuilt) {
      await shrinkOne('w_bill', newB);
      await shrinkOne('w_gl', newG);
    }
  }

  /**
   * Candidate pairs in `w_cand (bid, gid, dd, variance, vcur, bamount, gamount, bcur, gcur)` →
   * one-to-one pairs in `w_out`. Unique candidates go straight through; contested ones are ranked.
   */
  private async assignPairs(varianceKind: RawBuilder<unknown>): Promise<void> {
    const { trx } = this;
    await analyze(trx, 'w_cand');
    await drop(trx, 'w_pairs');
    // the common case: a pair that is the only candidate on both sides needs no ranking
    await sql`
      create temp table w_pairs on commit drop as
      select c.* from w_cand c
      join (select bid from w_cand group by bid having count(*) = 1) x on x.bid = c.bid
      join (select gid from w_cand group by gid having count(*) = 1) y on y.gid = c.gid`.execute(trx);
    const sizes = await sql<{ c: bigint; p: bigint }>`select (select count(*) from w_cand) as c, (select count(*) from w_pairs) as p`.execute(trx);
    const contested = (sizes.rows[0]?.c ?? 0n) - (sizes.rows[0]?.p ?? 0n);
    if (contested > 0n) {
      await sql`delete from w_cand c using w_pairs p where p.bid = c.bid`.execute(trx);
      // contested: rank with the stable keys
      await drop(trx, 'w_rank', 'w_new');
      await sql`
        create temp table w_rank on commit drop as
        select c.*, b.record_key collate "C" as bkey, g.line_key collate "C" as gkey
        from (select distinct * from w_cand) c join recon_billing_records b on b.id = c.bid join gl_entries g on g.id = c.gid`.execute(trx);
      await sql`create temp table w_new (like w_cand) on commit drop`.execute(trx);
      for (let i = 0; i < 50; i++) {
        await sql`truncate w_new`.execute(trx);
        const res = await sql`
          insert into w_new
          select bid, gid, dd, variance, vcur, bamount, gamount, bcur, gcur from (
            select r.*,
              row_number() over (partition by r.bid order by r.dd, r.gkey, r.gid) as rb,
              row_number() over (partition by r.gid order by r.dd, r.bkey, r.bid) as rg
            from w_rank r
          ) x where rb = 1 and rg = 1`.execute(trx);
        if (Number(res.numAffectedRows ?? 0n) === 0) break;
        await sql`insert into w_pairs select * from w_new`.execute(trx);
        // two equi-join deletes, not one OR: an OR join condition cannot hash and goes quadratic
        await sql`delete from w_rank r using w_new p where r.bid = p.bid`.execute(trx);
        await sql`delete from w_rank r using w_new p where r.gid = p.gid`.execute(trx);
        const more = await sql<{ n: bigint }>`select count(*) as n from w_rank`.execute(trx);
        if ((more.rows[0]?.n ?? 0n) === 0n) break;
      }
    }
    this.pairVarianceKind = varianceKind;
  }

  private kinds(rule: MatchRule, alias: string): RawBuilder<unknown> {
    if (!('kinds' in rule) || !rule.kinds) return sql`true`;
    return sql`${sql.ref(`${alias}.kind`)} = any(${rule.kinds}::text[])`;
  }

  private async referenceRule(rule: Extract<MatchRule, { kind: 'exact' | 'tolerance' }>, onBase: boolean): Promise<void> {
    let amountOk: RawBuilder<unknown>;
    if (rule.kind === 'exact') {
      amountOk = sql`true`;
    } else {
      const abs = rule.max_minor_units === undefined ? sql`false` : sql`abs(g.amount - b.amount) <= ${rule.max_minor_units}::bigint`;
      const pct =
        rule.max_percent === undefined ? sql`false` : sql`abs(g.amount - b.amount)::numeric * 100 <= ${rule.max_percent}::numeric * abs(b.amount)`;
      amountOk = sql`(${abs} or ${pct})`;
    }
    // exact joins on the amount too, so the hash join itself does the filtering at scale
    const amountJoin = rule.kind === 'exact' ? sql`and g.amount = b.amount` : sql``;
    const billRef = onBase ? this.billRefSource() : sql`w_bill_ref`;
    const glRef = onBase ? this.glRefSource() : sql`w_gl_ref`;
    await drop(this.trx, 'w_cand');
    // One row per shared reference: a pair sharing two references appears twice, which makes it
    // contested, and the ranking takes it once.
    await sql`
      create temp table w_cand on commit drop as
      select b.id as bid, g.id as gid, abs(g.d - b.d) as dd, g.amount - b.amount as variance, b.currency as vcur,
        b.amount as bamount, g.amount as gamount, b.currency as bcur, g.currency as gcur
      from ${billRef} b
      join ${glRef} g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency ${amountJoin}
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')} and ${amountOk}`.execute(this.trx);
    await this.assignPairs(sql`case when variance = 0 then 'none' else 'rounding' end`);
  }

  private async fxRule(rule: Extract<MatchRule, { kind: 'fx' }>): Promise<void> {
    const { trx } = this;
    if (!this.fullBuilt) await this.buildFull();
    // Configured rates (reporting-currency units per unit) with each currency's minor-unit exponent,
    // for converting when Stripe gave no settlement amount in the GL's currency.
    const all = { ...this.run.fxRates, [this.run.reportingCurrency]: '1' };
    await drop(trx, 'w_rates', 'w_cand');
    await sql`create temp table w_rates (currency text primary key, rate numeric not null, exp int not null) on commit drop`.execute(trx);
    const rows = Object.entries(all).map(([cur, rate]) => sql`(${cur}::text, ${rate}::numeric, ${currencyExponent(cur)}::int)`);
    await sql`insert into w_rates values ${sql.join(rows)}`.execute(trx);
    await sql`
      create temp table w_cand on commit drop as
      select bid, gid, dd, (gamount - expected)::bigint as variance, gcur as vcur, bamount, gamount, bcur, gcur from (
        select b.id as bid, g.id as gid, min(abs(g.d - b.d)) as dd, min(g.amount) as gamount, min(g.currency) as gcur,
          min(b.amount) as bamount, min(b.currency) as bcur,
          min(coalesce(
            case when g.currency = wb.settlement_currency then wb.settlement_amount end,
            round(b.amount::numeric / power(10, rb.exp) * rb.rate / rg.rate * power(10, rg.exp))::bigint
          )) as expected
        from w_bill_ref b
        join w_gl_ref g on g.ref = b.ref and g.cls = b.cls and g.currency <> b.currency
        join w_bill wb on wb.id = b.id
        left join w_rates rb on rb.currency = b.currency
        left join w_rates rg on rg.currency = g.currency
        where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')}
        group by b.id, g.id
      ) c
      where expected is not null and expected <> 0
        and abs(gamount - expected)::numeric * 100 <= ${rule.max_percent}::numeric * abs(expected)`.execute(trx);
    await this.assignPairs(sql`'fx_timing'`);
  }

  private async windowRule(rule: Extract<MatchRule, { kind: 'window' }>): Promise<void> {
    if (!this.fullBuilt) await this.buildFull();
    await drop(this.trx, 'w_cand');
    await sql`
      create temp table w_cand on commit drop as
      select b.id as bid, g.id as gid, abs(g.d - b.d) as dd, 0::bigint as variance, b.currency as vcur,
        b.amount as bamount, g.amount as gamount, b.currency as bcur, g.currency as gcur
      from w_bill b
      join w_gl g on g.cls = b.cls and g.currency = b.currency and g.amount = b.amount
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')}
        and ((b.customer_id is not null and b.customer_id = any(g.refs)) or (b.cname is not null and b.cname = g.cname))`.execute(this.trx);
    await this.assignPairs(sql`'none'`);
  }

  private async oneToMany(rule: Extract<MatchRule, { kind: 'aggregate' }>): Promise<void> {
    const { trx } = this;
    if (!this.fullBuilt) await this.buildFull();
    await drop(trx, 'w_agg');
    // every open GL line sharing a reference with the billing record, same class and currency
    await sql`
      create temp table w_agg on commit drop as
      select distinct b.id as bid, wb.key as bkey, g.id as gid, g.amount as gamount, b.amount as bamount, b.currency
      from w_bill_ref b join w_gl_ref g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency
      join w_bill wb on wb.id = b.id
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')}`.execute(trx);
    // groups that sum to the billing amount; a GL line wanted by two groups goes to the first by key
    await sql`
      insert into w_out (billing_ids, gl_ids, variance_kind, variance, vcur, bsum, bcur, gsum, gcur)
      with sums as (
        select bid, min(bkey) as bkey, min(bamount) as bamount, min(currency) as currency, sum(gamount) as total,
          count(*) as n, array_agg(gid order by gid) as gids
        from w_agg group by bid
      ), ok as (
        select * from sums where n >= 2 and abs(total - bamount) <= ${rule.max_minor_units}::bigint
      ), claims as (
        select a.gid, ok.bid, ok.bkey from w_agg a join ok on ok.bid = a.bid
      ), owner as (
        select gid, min(bkey) as bkey from claims group by gid
      ), lost as (
        select distinct c.bid from claims c join owner o on o.gid = c.gid where o.bkey <> c.bkey
      )
      select array[ok.bid], ok.gids, case when ok.total = ok.bamount then 'none' else 'rounding' end, (ok.total - ok.bamount)::bigint,
        ok.currency, ok.bamount, ok.currency, ok.total, ok.currency
      from ok where not exists (select 1 from lost l where l.bid = ok.bid)`.execute(trx);
  }

  private async manyToOne(rule: Extract<MatchRule, { kind: 'aggregate' }>): Promise<void> {
    const { trx } = this;
    if (!this.fullBuilt) await this.buildFull();
    // billing records grouped by the payout that paid them out (settlement amounts: that is what landed)
    await sql`
      insert into w_out (billing_ids, gl_ids, variance_kind, variance, vcur, bsum, bcur, gsum, gcur)
      with grp as (
        select b.group_key, b.cls, coalesce(b.settlement_currency, b.currency) as currency,
          sum(coalesce(b.settlement_amount, b.amount)) as total, max(b.d) as d, count(*) as n,
          array_agg(b.id order by b.id) as ids
        from w_bill b where b.group_key is not null and ${this.kinds(rule, 'b')}
        group by b.group_key, b.cls, coalesce(b.settlement_currency, b.currency)
      ), cand as (
        select grp.*, g.id as gid, g.amount as gamount,
          row_number() over (partition by grp.group_key, grp.currency order by abs(g.d - grp.d), g.key, g.id) as rn_g
        from grp join w_gl g on grp.group_key = any(g.refs) and g.cls = grp.cls and g.currency = grp.currency
        where grp.n >= 2 and abs(g.d - grp.d) <= ${rule.date_window_days}::int
          and abs(g.amount - grp.total) <= ${rule.max_minor_units}::bigint
      ), best as (
        select c.*, row_number() over (partition by c.gid order by c.group_key collate "C", c.currency) as rn_b
        from cand c where c.rn_g = 1
      )
      select ids, array[gid], case when gamount = total then 'none' else 'rounding' end, (gamount - total)::bigint, currency,
        total, currency, gamount, currency
      from best where rn_b = 1`.execute(trx);
  }

  private async expectedGlOnly(rule: Extract<MatchRule, { kind: 'expected_gl_only' }>): Promise<void> {
    if (!this.fullBuilt) await this.buildFull();
    const conds: RawBuilder<unknown>[] = [];
    if (rule.accounts?.length) conds.push(sql`g.account ilike any(${globsToLike(rule.accounts)}::text[])`);
    if (rule.transaction_types?.length) conds.push(sql`lower(g.transaction_type) = any(${rule.transaction_types.map((t) => t.toLowerCase())}::text[])`);
    if (rule.memo_patterns?.length) conds.push(sql`g.memo ~* any(${rule.memo_patterns}::text[])`);
    const where = conds.length ? sql.join(conds, sql` and `) : sql`false`;
    await sql`
      insert into w_out (billing_ids, gl_ids, variance_kind, variance, vcur, bsum, bcur, gsum, gcur)
      select '{}'::bigint[], array[g.id], 'expected', 0, g.currency, 0, null, g.amount, g.currency
      from w_gl g where ${where}`.execute(this.trx);
  }
}
