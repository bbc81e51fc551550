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

/** The first rule's pairs (an unlogged table for the length of a run; see assignPairs). */
const SCRATCH_FIRST = 'recon_scratch_first_pairs';

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
  /** The working tables (open records and their references) exist. */
  private built = false;
  private anyDone = false;
  /** The first rule's totals per currency pair, when its counting scan already has them. */
  private firstTotals: Array<{ bcur: string; gcur: string; p: bigint; bs: string | null; gs: string | null }> | null = null;
  /** The highest pair number in the first rule's table. */
  private firstSpan = 0n;
  /** Where the current rule's one-to-one pairs are. */
  private pairsTable = 'w_pairs';
  private accounts: Array<{ account: string; cls: string; sign: number }> = [];
  private readonly scoped: boolean;
  /** Set when the current rule produced one-to-one pairs (in w_pairs) rather than groups (in w_out). */
  private pairVarianceKind: RawBuilder<unknown> | null = null;
  private readonly billDate: RawBuilder<unknown>;
  private readonly glDate: RawBuilder<unknown>;

  constructor(
    private readonly trx: Trx,
    private readonly m: MatchingConfig,
    private readonly scope: EngineScope,
    private readonly run: { id: bigint; now: Date; fxRates: Record<string, string>; reportingCurrency: string },
  ) {
    const pad = maxWindow(m.rules);
    this.scoped = Boolean(scope.from || scope.to);
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
    // Classify each account once (hundreds, kept in gl_accounts by the GL's triggers), not each line.
    await sql`
      create temp table w_acct on commit drop as
      select account, cls, case cls when 'receivable' then ${recvSign}::int else ${clearSign}::int end as sign from (
        select account,
          case when account ilike any(${globsToLike(m.accounts.receivable.accounts)}::text[]) then 'receivable'
               when account ilike any(${globsToLike(m.accounts.clearing.accounts)}::text[]) then 'clearing' end as cls
        from gl_accounts a
      ) c where cls is not null`.execute(trx);
    this.accounts = (await sql<{ account: string; cls: string; sign: number }>`select account, cls, sign from w_acct order by account`.execute(trx)).rows;
    // Records matched in earlier runs; this run's matches are added as they are written.
    await sql`create temp table w_done_b on commit drop as select record_id as id from recon_match_members where side = 'billing'`.execute(trx);
    await sql`create temp table w_done_g on commit drop as select record_id as id from recon_match_members where side = 'gl'`.execute(trx);
    await analyze(trx, 'w_acct', 'w_done_b', 'w_done_g');
    const done = await sql<{ n: bigint }>`select (select count(*) from w_done_b) + (select count(*) from w_done_g) as n`.execute(trx);
    this.anyDone = (done.rows[0]?.n ?? 0n) > 0n;
  }

  /** The classified accounts as a VALUES list: unlike a temp table, parallel workers can read it. */
  private accountValues(): RawBuilder<unknown> {
    if (this.accounts.length === 0) return sql`(select null::text as account, null::text as cls, null::int as sign where false)`;
    return sql`(values ${sql.join(this.accounts.map((a) => sql`(${a.account}::text, ${a.cls}::text, ${a.sign}::int)`))})`;
  }

  /**
   * Open records, one row per reference, from the reference index (the first rule). Written without
   * temp tables when nothing was matched before, so the join runs as a parallel hash join.
   */
  private billRefSource(): RawBuilder<unknown> {
    const notDone = this.anyDone ? sql`and r.record_id not in (select id from w_done_b)` : sql``;
    const scope = this.scoped ? sql`and r.d between ${this.scope.from ?? '0001-01-01'}::date and ${this.scope.to ?? '9999-12-31'}::date` : sql``;
    return sql`(
      select r.ref, r.record_id as id, r.kind, r.cls, r.amount, r.currency, r.d
      from recon_billing_refs r
      where r.active ${notDone} ${scope})`;
  }

  private glRefSource(): RawBuilder<unknown> {
    const notDone = this.anyDone ? sql`and r.entry_id not in (select id from w_done_g)` : sql``;
    const pad = maxWindow(this.m.rules);
    const scope = this.scoped
      ? sql`and r.d between ${this.scope.from ?? '0001-01-01'}::date - ${pad}::int and ${this.scope.to ?? '9999-12-31'}::date + ${pad}::int`
      : sql``;
    return sql`(
      select r.ref, r.entry_id as id, a.cls, r.amount * a.sign as amount, r.currency, r.d
      from gl_entry_refs r join ${this.accountValues()} as a (account, cls, sign) on a.account = r.account
      where true ${notDone} ${scope})`;
  }

  /** Ids matched by the first rule (kept as a table rather than copied into the done sets). */
  private firstB: RawBuilder<unknown> = sql``;
  private firstG: RawBuilder<unknown> = sql``;

  /** The open records (full rows) and their references, for every rule after the first. */
  private async buildWorking(): Promise<void> {
    const { trx } = this;
    await drop(trx, 'w_bill', 'w_gl', 'w_bill_ref', 'w_gl_ref');
    // Without temp tables in them (nothing matched before this run), these run in parallel.
    const doneB = this.anyDone ? sql`and b.id not in (select id from w_done_b)` : sql``;
    const doneG = this.anyDone ? sql`and g.id not in (select id from w_done_g)` : sql``;
    await sql`
      create temp table w_bill on commit drop as
      select b.id, b.record_key collate "C" as key, b.kind, b.account_class as cls, b.refs, b.customer_id,
        lower(b.customer_name) as cname, b.customer_name, b.stripe_id, b.amount, b.currency, b.settlement_amount, b.settlement_currency,
        b.occurred_on as d, b.group_key
      from recon_billing_records b
      where b.active ${doneB} ${this.firstB} ${this.billDate}`.execute(trx);
    await sql`
      create temp table w_gl on commit drop as
      select g.id, g.line_key collate "C" as key, a.cls, g.stripe_ids || g.invoice_numbers as refs,
        lower(g.customer_name) as cname, g.customer_name, g.amount * a.sign as amount, g.amount as raw_amount, g.currency,
        g.entry_date as d, g.account, g.transaction_type, g.memo
      from gl_entries g join ${this.accountValues()} as a (account, cls, sign) on a.account = g.account
      where true ${doneG} ${this.firstG} ${this.glDate}`.execute(trx);
    // references from the (small) open sets, not from the index
    await sql`create temp table w_bill_ref on commit drop as select unnest(refs) collate "C" as ref, id, kind, cls, amount, currency, d from w_bill`.execute(trx);
    await sql`create temp table w_gl_ref on commit drop as select unnest(refs) collate "C" as ref, id, cls, amount, currency, d from w_gl`.execute(trx);
    // statistics on what later rules join and filter on (all columns would cost more than they help)
    await sql`analyze w_bill (id, cls, currency, amount, d, customer_id, cname, group_key)`.execute(trx);
    await sql`analyze w_gl (id, cls, currency, amount, d, cname)`.execute(trx);
    await sql`analyze w_bill_ref (ref, id, cls, currency, amount, d)`.execute(trx);
    await sql`analyze w_gl_ref (ref, id, cls, currency, amount, d)`.execute(trx);
    this.built = true;
  }

  /** After all rules: make sure the open tables exist (exception derivation reads them). */
  async finish(): Promise<void> {
    if (!this.built) await this.buildWorking();
  }

  /** Drop the run's unlogged scratch table (before commit; a failed run's goes with its transaction). */
  async close(): Promise<void> {
    await drop(this.trx, SCRATCH_FIRST);
  }

  async runAll(): Promise<RuleResult[]> {
    const results: RuleResult[] = [];
    let first = true;
    for (const rule of this.m.rules) {
      if (!rule.enabled) continue;
      // The first rule, if a reference rule, reads the base tables; every other rule the working set.
      const onBase = first && (rule.kind === 'exact' || rule.kind === 'tolerance');
      first = false;
      if (!onBase && !this.built) await this.buildWorking();
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

  /** One-to-one pairs → `recon_pair_batches`, each pair with its own match id. */
  private async writePairs(rule: MatchRule, vk: RawBuilder<unknown>): Promise<{ matches: number; billingRecords: number; glEntries: number }> {
    const { trx } = this;
    const first = this.pairsTable === SCRATCH_FIRST;
    const P = sql.table(this.pairsTable);
    // the first rule's table holds every candidate, numbered; the others hold only pairs
    const pairs = first ? sql`(select * from ${P} where pick)` : sql`(select *, row_number() over (order by bid) as rn from ${P})`;
    // what this rule matched, per currency pair (also how many pairs there are)
    const known = first ? this.firstTotals : null;
    const totals = known
      ? known.length === 0
        ? { rows: [] }
        : await sql<{ n: bigint }>`
            insert into w_matched
            values ${sql.join(known.map((t) => sql`(${rule.kind}, ${t.p}::bigint, ${t.bs}::bigint, ${t.bcur}, ${t.p}::bigint, ${t.gs}::bigint, ${t.gcur})`))}
            returning bn as n`.execute(trx)
      : await sql<{ n: bigint }>`
          insert into w_matched
          select ${rule.kind}, count(*), sum(bamount), bcur, count(*), sum(gamount), gcur from ${pairs} p group by bcur, gcur
          returning bn as n`.execute(trx);
    const count = totals.rows.reduce((a, r) => a + Number(r.n), 0);
    if (count === 0) return { matches: 0, billingRecords: 0, glEntries: 0 };
    // Reserve a block of match ids from the sequence every match draws from (the run holds the
    // reconcile lock, and nextval/setval are atomic besides). Numbered in billing-record order: the
    // same data gets the same match ids (the first rule's numbers have gaps where contested
    // candidates were; the ids stay unique).
    const span = first ? this.firstSpan : BigInt(count);
    const seq = sql`pg_get_serial_sequence('recon_match_groups', 'id')`;
    const firstId = (
      await sql<{ id: bigint }>`
        with n as (select nextval(${seq}) as id) select id, setval(${seq}, id + ${span}::bigint - 1, true) from n`.execute(trx)
    ).rows[0]?.id;
    if (firstId === undefined) throw new Error('could not reserve match ids');
    // A pair's position inside its batch does not matter (its id says which match it is), so the
    // arrays are built in arrival order instead of sorting each batch.
    await sql`
      insert into recon_pair_batches (run_id, rule_name, rule_kind, variance_kind, variance_currency,
        match_ids, billing_ids, gl_ids, variances, created_at)
      select ${this.run.id}, ${rule.name}, ${rule.kind}, vkind, vcur,
        array_agg(${firstId}::bigint + rn - 1), array_agg(bid), array_agg(gid), array_agg(variance), ${this.run.now}
      from (select bid, gid, variance, vcur, ${vk} as vkind, rn from ${pairs} p) s
      group by (rn - 1) / ${PAIR_BATCH_SIZE}, vkind, vcur`.execute(trx);
    if (first) {
      // The first rule, on the base tables: its (many) pairs are excluded when the working tables
      // are built, instead of being copied into the done sets first (NOT EXISTS on a regular table:
      // a parallel hash anti-join).
      this.firstB = sql`and not exists (select 1 from ${P} f where f.bid = b.id and f.pick)`;
      this.firstG = sql`and not exists (select 1 from ${P} f where f.gid = g.id and f.pick)`;
      return { matches: count, billingRecords: count, glEntries: count };
    }
    await this.shrink(sql`(select bid as id from w_pairs)`, sql`(select gid as id from w_pairs)`);
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
    await this.shrink(sql`w_new_b`, sql`w_new_g`);
    return { matches: Number(c.m), billingRecords: Number(c.b), glEntries: Number(c.g) };
  }

  /**
   * What matched leaves the working tables. (The done sets are not kept up to date after the
   * working tables exist: nothing reads them then.)
   */
  private async shrink(newB: RawBuilder<unknown>, newG: RawBuilder<unknown>): Promise<void> {
    const { trx } = this;
    const shrinkOne = async (t: string, gone: RawBuilder<unknown>) => {
      await sql`delete from ${sql.table(t)} x using ${gone} d where d.id = x.id`.execute(trx);
    };
    if (!this.built) return;
    await shrinkOne('w_bill_ref', newB);
    await shrinkOne('w_gl_ref', newG);
    await shrinkOne('w_bill', newB);
    await shrinkOne('w_gl', newG);
  }

  /**
   * Candidate pairs in `w_cand (bid, gid, dd, variance, vcur, bamount, gamount, bcur, gcur)` →
   * one-to-one pairs in `w_pairs`. Unique candidates go straight through; contested ones are ranked.
   */
  private async assignPairs(varianceKind: RawBuilder<unknown>): Promise<void> {
    const { trx } = this;
    this.pairsTable = 'w_pairs';
    await drop(trx, 'w_pairs');
    // the common case: a pair that is the only candidate on both sides needs no ranking (two
    // window counts, sorted by GL then by billing id, cost less than two grouped joins)
    await sql`
      create temp table w_pairs on commit drop as
      select bid, gid, dd, variance, vcur, bamount, gamount, bcur, gcur from (
        select y.*, count(*) over (partition by y.bid) as nb from (
          select c.*, count(*) over (partition by c.gid) as ng from w_cand c
        ) y
      ) z where nb = 1 and ng = 1`.execute(trx);
    const sizes = await sql<{ c: bigint; p: bigint }>`select (select count(*) from w_cand) as c, (select count(*) from w_pairs) as p`.execute(trx);
    if ((sizes.rows[0]?.c ?? 0n) > (sizes.rows[0]?.p ?? 0n)) {
      // a record in a unique pair has no other candidate, so the contested rows are the others
      await sql`delete from w_cand c using w_pairs p where p.bid = c.bid`.execute(trx);
      await this.rankContested('w_pairs');
    }
    this.pairVarianceKind = varianceKind;
  }

  /**
   * The first rule's candidates `(bid, gid, dd, variance, bamount, bcur)` — a reference rule's, whose
   * two sides share the currency — straight from the reference index (a parallel hash join), counted
   * and numbered in the same statement, into an unlogged table: parallel workers cannot read temp
   * tables, and building the open sets after it — an anti-join of every record against these pairs —
   * then runs in parallel too. `pick` marks the pairs taken; `rn` numbers them in billing-record
   * order, which fixes their match ids. The table is dropped when the run ends, or with its
   * transaction if the run fails.
   */
  private async assignFirstPairs(candidates: RawBuilder<unknown>, varianceKind: RawBuilder<unknown>): Promise<void> {
    const { trx } = this;
    const P = sql.table(SCRATCH_FIRST);
    this.pairsTable = SCRATCH_FIRST;
    await drop(trx, SCRATCH_FIRST);
    await sql`
      create unlogged table ${P} as
      select bid, gid, dd, variance, bcur as vcur, bamount, bamount + variance as gamount, bcur, bcur as gcur,
        ng = 1 and count(*) over (partition by bid) = 1 as pick,
        row_number() over (order by bid) as rn
      from (select c.*, count(*) over (partition by c.gid) as ng from ${candidates} c) y`.execute(trx);
    // sizes and, while no contested pair is added, this rule's totals per currency pair: one scan
    const perCurrency = await sql<{ bcur: string; gcur: string; c: bigint; p: bigint; bs: string | null; gs: string | null; top: bigint }>`
      select bcur, gcur, count(*) as c, count(*) filter (where pick) as p, sum(bamount) filter (where pick) as bs,
        sum(gamount) filter (where pick) as gs, max(rn) as top
      from ${P} group by bcur, gcur`.execute(trx);
    const row = perCurrency.rows.reduce(
      (a, r) => ({ c: a.c + r.c, p: a.p + r.p, top: r.top > a.top ? r.top : a.top }),
      { c: 0n, p: 0n, top: 0n },
    );
    this.firstSpan = row.top;
    this.firstTotals = perCurrency.rows.filter((r) => r.p > 0n);
    if (row.c > row.p) {
      this.firstTotals = null;
      await drop(trx, 'w_cand', 'w_pairs');
      await sql`create temp table w_cand on commit drop as select bid, gid, dd, variance, vcur, bamount, gamount, bcur, gcur from ${P} where not pick`.execute(trx);
      await sql`create temp table w_pairs (like w_cand) on commit drop`.execute(trx);
      await this.rankContested('w_pairs');
      await sql`
        insert into ${P} select w.*, true, ${row.top}::bigint + row_number() over (order by w.bid) from w_pairs w`.execute(trx);
      this.firstSpan = row.top + BigInt(Number((await sql<{ n: bigint }>`select count(*) as n from w_pairs`.execute(trx)).rows[0]?.n ?? 0n));
    }
    this.pairVarianceKind = varianceKind;
  }

  /** Contested candidates (w_cand) ranked by date proximity, then the stable keys; winners into `into`. */
  private async rankContested(into: string): Promise<void> {
    const { trx } = this;
    const T = sql.table(into);
    await analyze(trx, 'w_cand');
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
      await sql`insert into ${T} select * from w_new`.execute(trx);
      // two equi-join deletes, not one OR: an OR join condition cannot hash and goes quadratic
      await sql`delete from w_rank r using w_new p where r.bid = p.bid`.execute(trx);
      await sql`delete from w_rank r using w_new p where r.gid = p.gid`.execute(trx);
      const more = await sql<{ n: bigint }>`select count(*) as n from w_rank`.execute(trx);
      if ((more.rows[0]?.n ?? 0n) === 0n) break;
    }
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
    // One row per shared reference: a pair sharing two references appears twice, which makes it
    // contested, and the ranking takes it once.
    const candidates = sql`(
      select b.id as bid, g.id as gid, abs(g.d - b.d) as dd, g.amount - b.amount as variance, b.currency as vcur,
        b.amount as bamount, g.amount as gamount, b.currency as bcur, g.currency as gcur
      from ${billRef} b
      join ${glRef} g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency ${amountJoin}
      where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')} and ${amountOk})`;
    const varianceKind = sql`case when variance = 0 then 'none' else 'rounding' end`;
    if (onBase) {
      // Narrow rows sort faster: the currency is a join key (both sides share it) and the GL amount
      // is the billing amount plus the variance, so both are put back after the counting sorts.
      const narrow = sql`(
        select b.id as bid, g.id as gid, abs(g.d - b.d) as dd, g.amount - b.amount as variance, b.amount as bamount, b.currency as bcur
        from ${billRef} b
        join ${glRef} g on g.ref = b.ref and g.cls = b.cls and g.currency = b.currency ${amountJoin}
        where abs(g.d - b.d) <= ${rule.date_window_days}::int and ${this.kinds(rule, 'b')} and ${amountOk})`;
      return this.assignFirstPairs(narrow, varianceKind);
    }
    await drop(this.trx, 'w_cand');
    await sql`create temp table w_cand on commit drop as select * from ${candidates} c`.execute(this.trx);
    await this.assignPairs(varianceKind);
  }

  private async fxRule(rule: Extract<MatchRule, { kind: 'fx' }>): Promise<void> {
    const { trx } = this;
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
