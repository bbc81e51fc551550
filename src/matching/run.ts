import { type Kysely, sql } from 'kysely';
import { type Actor, recordAudit } from '../audit/index.js';
import type { BillopsFile } from '../config/index.js';
import type { Database } from '../db/index.js';
import { deriveExceptions, type DeriveResult } from '../exceptions/derive.js';
import { convertMinor, minorToDecimal, parseUserAmount } from '../money/index.js';
import type { Clock } from '../util/index.js';
import { refreshBillingRecords } from './billing-records.js';
import { type RuleResult, prepareWorkingSet, runRules } from './engine.js';
import { type MatchingConfig, rulesHash } from './rules.js';

/** Arbitrary fixed key: one reconcile at a time across every replica. */
const RECONCILE_LOCK_KEY = 4_214_133_702;

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

async function totals(trx: Kysely<Database>, query: ReturnType<typeof sql>): Promise<OutcomeTotals> {
  const rows = await sql<{ currency: string; n: bigint; total: string }>`
    select currency, count(*) as n, sum(amount)::text as total from (${query}) q group by currency order by currency`.execute(trx);
  const amounts: Record<string, string> = {};
  let count = 0;
  for (const r of rows.rows) {
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
      const dissolved = await sql<{ id: bigint; rule_name: string }>`
        with changed as (
          select distinct mm.match_id from recon_match_members mm
          join w_refreshed r on r.id = mm.record_id and mm.side = 'billing'
        ), del as (
          delete from recon_match_members mm using changed c where mm.match_id = c.match_id returning mm.match_id
        )
        delete from recon_matches m using changed c where m.id = c.match_id returning m.id, m.rule_name`.execute(trx);
      if (dissolved.rows.length > 0) {
        await recordAudit(
          trx,
          {
            actor: o.actor,
            action: 'matches.dissolved',
            entity: { type: 'reconciliation_run', id: runId.toString() },
            before: { matches: dissolved.rows.map((r) => r.id.toString()) },
            source: o.source,
          },
          o.clock,
        );
      }

      await prepareWorkingSet(trx, o.matching, { from: o.from, to: o.to });
      const now = o.clock.now();
      const rules = await runRules(trx, runId, o.matching, {
        now,
        fxRates: o.file.org.fx_rates,
        reportingCurrency: o.file.org.reporting_currency,
      });
      const exceptions = await deriveExceptions(trx, {
        runId,
        now,
        reportingCurrency: o.file.org.reporting_currency,
        fxRates: o.file.org.fx_rates,
        highValueMajor: highValueMajor(o.file),
        fxTolerancePercent: o.matching.fx_tolerance_percent,
        timezone: o.file.org.timezone,
      });

      const inScopeBilling = o.from || o.to
        ? sql`and b.occurred_on between ${o.from ?? '0001-01-01'}::date and ${o.to ?? '9999-12-31'}::date`
        : sql``;
      const inScopeGl = o.from || o.to
        ? sql`and g.entry_date between ${o.from ?? '0001-01-01'}::date and ${o.to ?? '9999-12-31'}::date`
        : sql``;
      const matchedBilling = sql`
        select b.amount, b.currency from recon_billing_records b
        where b.active ${inScopeBilling} and exists (select 1 from recon_match_members mm where mm.side = 'billing' and mm.record_id = b.id)`;
      const billingOnly = sql`
        select b.amount, b.currency from recon_billing_records b
        where b.active ${inScopeBilling} and not exists (select 1 from recon_match_members mm where mm.side = 'billing' and mm.record_id = b.id)`;
      const glWithMatch = (cond: ReturnType<typeof sql>) => sql`
        select g.amount, g.currency from gl_entries g
        left join recon_match_members mm on mm.side = 'gl' and mm.record_id = g.id
        left join recon_matches m on m.id = mm.match_id
        where g.id in (select id from w_gl union select record_id from recon_match_members where side = 'gl') ${inScopeGl} and ${cond}`;
      const summary: ReconcileSummary = {
        runId,
        rulesHash: hash,
        durationMs: 0,
        refreshed,
        rules,
        billing: { matched: await totals(trx, matchedBilling), billingOnly: await totals(trx, billingOnly) },
        gl: {
          matched: await totals(trx, glWithMatch(sql`m.rule_kind is not null and m.rule_kind <> 'expected_gl_only'`)),
          glOnly: await totals(trx, glWithMatch(sql`m.id is null`)),
          expected: await totals(trx, glWithMatch(sql`m.rule_kind = 'expected_gl_only'`)),
        },
        exceptions,
      };
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

