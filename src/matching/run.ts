import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { BillopsFile } from '../config/index.js';
import type { Database } from '../db/index.js';
import { deriveExceptions, type DeriveResult } from '../exceptions/derive.js';
import { convertMinor, minorToDecimal, parseUserAmount } from '../money/index.js';
import type { Clock } from '../util/index.js';
import { refreshBillingRecords } from './billing-records.js';
import { Engine, type RuleResult } from './engine.js';
import { type MatchingConfig, rulesHash } from './rules.js';

/** Arbitrary fixed key: one reconcile at a time across every replica. */
const RECONCILE_LOCK_KEY = 4_214_133_711;

export interface ReconcileOptions {
  file: BillopsFile;
  matching: MatchingConfig;
  clock: Clock;
  actor: Actor;
  /** cli, slack, scheduler … */
  source: string;
  from?: string | undefined;
  to?: string | undefined;
}

export interface OutcomeTotals {
  count: number;
  /** Sum per currency, minor units as decimal strings (JSON-safe). */
  amounts: Record<string, string>;
}

export interface ReconcileSummary {
  runId: bigint;
  rulesHash: string;
  durationMs: number;
  refreshed: number;
  rules: RuleResult[];
  billing: { matched: OutcomeTotals; billingOnly: OutcomeTotals };
  gl: { matched: OutcomeTotals; glOnly: OutcomeTotals; expected: OutcomeTotals };
  exceptions: DeriveResult;
}

/** The high-value threshold in major units of the reporting currency, for severity. */
export function highValueMajor(file: BillopsFile): string {
  const threshold = parseUserAmount(file.thresholds.high_value);
  const reporting = file.org.reporting_currency;
  let minor = threshold.amount;
  if (threshold.currency !== reporting) {
    const rate = file.org.fx_rates[threshold.currency];
    if (rate) minor = convertMinor(threshold.amount, threshold.currency, reporting, rate);
  }
  return minorToDecimal(minor, reporting);
}

function totalsOf(rows: ReadonlyArray<{ currency: string; n: bigint; total: string }>): OutcomeTotals {
  const amounts: Record<string, string> = {};
  let count = 0;
  for (const r of rows) {
    amounts[r.currency] = r.total;
    count += Number(r.n);
  }
  return { count, amounts };
}

/**
 * One reconciliation run: refresh billing records from Stripe, match what is still open under the
 * ordered rules, derive the exception queue, record the run. All in one transaction under a lock, so
 * two replicas never run it at once and a crash leaves nothing half-done. A rerun with no new data
 * adds no match and changes no exception.
 */
export async function reconcile(db: Kysely<Database>, o: ReconcileOptions): Promise<ReconcileSummary> {
  const started = o.clock.now();
  const t0 = performance.now();
  const hash = rulesHash(o.matching);
  try {
    return await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${RECONCILE_LOCK_KEY})`.execute(trx);
      const refreshed = await refreshBillingRecords(trx, { timezone: o.file.org.timezone, clock: o.clock });
      const run = await sql<{ id: bigint }>`
        insert into reconciliation_runs (started_at, status, window_from, window_to, rules_hash, triggered_by)
        values (${started}, 'running', ${o.from ?? null}, ${o.to ?? null}, ${hash}, ${`${o.source}:${o.actor.id}`})
        returning id`.execute(trx);
      const runId = run.rows[0]?.id;
      if (runId === undefined) throw new Error('reconciliation run was not recorded');

      // A billing record that changed since it was matched (voided, amount corrected) no longer
      // vouches for its match: dissolve it so both sides compete again.
      const refreshedAny = await sql<{ n: bigint }>`select count(*) as n from w_refreshed`.execute(trx);
      if ((refreshedAny.rows[0]?.n ?? 0n) > 0n) {
        const groups = await sql<{ id: bigint; rule_name: string }>`
          delete from recon_match_groups m
          where m.billing_count > 0 and exists (select 1 from w_refreshed r where r.id = any(m.billing_ids))
          returning m.id, m.rule_name`.execute(trx);
        // a pair inside a batch leaves it; the batch keeps the others (and goes when none is left)
        await sql`drop table if exists w_dissolved`.execute(trx);
        await sql`
          create temp table w_dissolved on commit drop as
          select p.id as batch_id, u.id, p.rule_name
          from recon_pair_batches p cross join lateral unnest(p.match_ids, p.billing_ids) as u(id, bid)
          where u.bid in (select id from w_refreshed)`.execute(trx);
        await sql`
          update recon_pair_batches p set (match_ids, billing_ids, gl_ids, variances) = (
            select array_agg(u.id order by u.i), array_agg(u.bid order by u.i), array_agg(u.gid order by u.i), array_agg(u.v order by u.i)
            from unnest(p.match_ids, p.billing_ids, p.gl_ids, p.variances) with ordinality as u(id, bid, gid, v, i)
            where u.id not in (select id from w_dissolved))
          where p.id in (select batch_id from w_dissolved)
            and exists (select 1 from unnest(p.match_ids) as k(id) where k.id not in (select id from w_dissolved))`.execute(trx);
        await sql`
          delete from recon_pair_batches p
          where p.id in (select batch_id from w_dissolved)
            and not exists (select 1 from unnest(p.match_ids) as k(id) where k.id not in (select id from w_dissolved))`.execute(trx);
        const pairs = await sql<{ id: bigint; rule_name: string }>`select id, rule_name from w_dissolved order by id`.execute(trx);
        const dissolved = { rows: [...groups.rows, ...pairs.rows] };
        if (dissolved.rows.length > 0) {
          await recordAudit(
            trx,
            {
              actor: o.actor,
              action: 'matches.dissolved',
              entity: { type: 'reconciliation_run', id: runId.toString() },
              before: { matches: dissolved.rows.map((r) => ({ id: r.id.toString(), rule: r.rule_name })) },
              source: o.source,
            },
            o.clock,
          );
        }
      }

      const now = o.clock.now();
      const engine = new Engine(trx, o.matching, { from: o.from, to: o.to }, {
        id: runId,
        now,
        fxRates: o.file.org.fx_rates,
        reportingCurrency: o.file.org.reporting_currency,
      });
      await engine.prepare();
      const rules = await engine.runAll();
      const exceptions = await deriveExceptions(trx, {
        runId,
        now,
        reportingCurrency: o.file.org.reporting_currency,
        fxRates: o.file.org.fx_rates,
        highValueMajor: highValueMajor(o.file),
        fxTolerancePercent: o.matching.fx_tolerance_percent,
        timezone: o.file.org.timezone,
        scoped: Boolean(o.from || o.to),
      });

      // This run's picture: what was open at the start either matched now or is still open.
      const matched = await engine.matchedTotals();
      const open = async (table: 'w_bill' | 'w_gl') =>
        (
          await sql<{ currency: string; n: bigint; total: string }>`
            select currency, count(*) as n, sum(amount)::text as total from ${sql.table(table)}
            group by currency order by currency`.execute(trx)
        ).rows;
      const summary: ReconcileSummary = {
        runId,
        rulesHash: hash,
        durationMs: 0,
        refreshed,
        rules,
        billing: { matched: totalsOf(matched.billing), billingOnly: totalsOf(await open('w_bill')) },
        gl: { matched: totalsOf(matched.gl), glOnly: totalsOf(await open('w_gl')), expected: totalsOf(matched.expected) },
        exceptions,
      };
      await engine.close();
      summary.durationMs = Math.round(performance.now() - t0);
      const json = JSON.stringify(summary, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      await sql`
        update reconciliation_runs set status = 'succeeded', finished_at = ${o.clock.now()}, summary = ${json}::jsonb,
          duration_ms = ${summary.durationMs} where id = ${runId}`.execute(trx);
      await recordAudit(
        trx,
        {
          actor: o.actor,
          action: 'reconcile.run',
          entity: { type: 'reconciliation_run', id: runId.toString() },
          after: {
            rules_hash: hash,
            matches: rules.reduce((s, r) => s + r.matches, 0),
            billing_only: summary.billing.billingOnly.count,
            gl_only: summary.gl.glOnly.count,
            exceptions_opened: exceptions.opened,
            exceptions_auto_resolved: exceptions.autoResolved,
          },
          source: o.source,
          context: { from: o.from ?? null, to: o.to ?? null },
        },
        o.clock,
      );
      return summary;
    });
  } catch (err) {
    // The run's own transaction rolled back; leave a trace that it was tried and why it failed.
    await sql`
      insert into reconciliation_runs (started_at, finished_at, status, window_from, window_to, rules_hash, triggered_by, error, duration_ms)
      values (${started}, ${o.clock.now()}, 'failed', ${o.from ?? null}, ${o.to ?? null}, ${hash}, ${`${o.source}:${o.actor.id}`},
        ${err instanceof Error ? err.message.slice(0, 2000) : String(err)}, ${Math.round(performance.now() - t0)})`
      .execute(db)
      .catch(() => undefined);
    throw err;
  }
}

