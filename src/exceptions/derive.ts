import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { currencyExponent } from '../money/index.js';

/** The kinds reconciliation derives (and so may auto-resolve); others are raised by their own checks. */
export const DERIVED_KINDS = [
  'missing_in_gl',
  'missing_in_billing',
  'amount_mismatch',
  'void_not_reflected',
  'duplicate_in_gl',
  'fx_variance_over_tolerance',
  'failed_payment',
  'dispute_open',
] as const;

export interface DeriveOptions {
  runId: bigint;
  now: Date;
  /** Reporting currency and rates (reporting units per unit) for severity. */
  reportingCurrency: string;
  fxRates: Record<string, string>;
  /** The high-value threshold, in major units of the reporting currency. */
  highValueMajor: string;
  fxTolerancePercent: string;
  timezone: string;
  /** The run was limited to a date window (--from / --to). */
  scoped: boolean;
}

export interface DeriveResult {
  opened: number;
  reopened: number;
  autoResolved: number;
  updated: number;
  active: number;
}

/**
 * Turn the state after matching (and Stripe's own state) into the exception queue, set-based:
 * compute every condition that holds now, each under a stable dedupe key; open the new ones, reopen
 * auto-resolved ones that came back, auto-resolve the ones that no longer hold. An exception a person
 * resolved stays resolved. Each transition is appended to the audit log in the same statement.
 * Runs inside the reconcile transaction, after `runRules` (it reads the working tables).
 */
export async function deriveExceptions(trx: Kysely<Database>, o: DeriveOptions): Promise<DeriveResult> {
  const rates = { ...o.fxRates, [o.reportingCurrency]: '1' };
  await sql`drop table if exists x_rates`.execute(trx);
  await sql`create temp table x_rates (currency text primary key, rate numeric not null, exp int not null) on commit drop`.execute(trx);
  const rows = Object.entries(rates).map(([c, r]) => sql`(${c}::text, ${r}::numeric, ${currencyExponent(c)}::int)`);
  await sql`insert into x_rates values ${sql.join(rows)}`.execute(trx);
  const today = sql`(${o.now}::timestamptz at time zone ${o.timezone})::date`;

  await sql`drop table if exists x_cond`.execute(trx);
  await sql`
    create temp table x_cond on commit drop as
    with
    -- still unmatched after every rule (the working tables hold exactly those)
    ub as (select * from w_bill),
    ug as (select * from w_gl),
    expected as (select unnest(gl_ids) as gid from recon_match_groups where rule_kind = 'expected_gl_only'),
    mism as (
      select distinct on (b.id) b.id as bid, g.id as gid, wb.key as bkey, wg.key as gkey, b.amount as bamount, g.amount as gamount,
        b.currency as bcur, g.currency as gcur, g.ref
      from w_bill_ref b join w_gl_ref g on g.ref = b.ref and g.cls = b.cls
      join w_bill wb on wb.id = b.id join w_gl wg on wg.id = g.id
      -- g.ref last: a GL line sharing two references with the record must name the same one every run
      order by b.id, (g.currency = b.currency) desc, abs(g.amount - b.amount), wg.key, g.ref
    ),
    mism1 as (
      -- one GL line explains at most one billing record
      select * from (select m.*, row_number() over (partition by gid order by abs(gamount - bamount), bkey) as rn from mism m) x where rn = 1
    ),
    voided as (
      select distinct on (g.id) g.id as gid, r.id as bid, r.stripe_id, r.refs[2] as number
      from w_gl_ref g
      join recon_billing_refs x on x.ref = g.ref and not x.active
      join recon_billing_records r on r.id = x.record_id and r.status = 'void'
      order by g.id, r.id
    ),
    dup as (
      -- the same posting (account, amount, currency, a shared reference) is already matched: the
      -- other copy is not among the open GL lines
      select distinct on (g.id) g.id as gid, e2.id as other_id
      from w_gl_ref gr
      join w_gl g on g.id = gr.id
      join gl_entry_refs r2 on r2.ref = gr.ref and r2.entry_id <> gr.id
        and r2.account = g.account and r2.amount = g.raw_amount and r2.currency = g.currency
      join gl_entries e2 on e2.id = r2.entry_id
      where g.id not in (select gid from voided)
        and not exists (select 1 from w_gl o where o.id = e2.id)
        and not exists (select 1 from expected x where x.gid = e2.id)
      order by g.id, e2.line_key
    ),
    conds as (
    select 'amount_mismatch:' || m.bkey as dedupe_key, 'amount_mismatch' as kind, b.amount as amount, b.currency,
      b.customer_id, b.customer_name, b.id as billing_record_id, m.gid as gl_entry_id, b.stripe_id, m.ref as reference,
      b.d as since, jsonb_build_object('billing_amount', m.bamount::text, 'gl_amount', m.gamount::text, 'difference', (m.gamount - m.bamount)::text) as details
    from mism1 m join ub b on b.id = m.bid
    where m.bcur = m.gcur
    union all
    select 'fx_variance_over_tolerance:' || m.bkey, 'fx_variance_over_tolerance', coalesce(b.settlement_amount, b.amount),
      coalesce(b.settlement_currency, b.currency), b.customer_id, b.customer_name, b.id, m.gid, b.stripe_id, m.ref, b.d,
      jsonb_build_object('billing_amount', m.bamount::text, 'billing_currency', m.bcur, 'gl_amount', m.gamount::text, 'gl_currency', m.gcur,
        'settlement_amount', b.settlement_amount::text, 'settlement_currency', b.settlement_currency, 'tolerance_percent', ${o.fxTolerancePercent}::text)
    from mism1 m join ub b on b.id = m.bid
    where m.bcur <> m.gcur
    union all
    select 'void_not_reflected:' || g.key, 'void_not_reflected', g.amount, g.currency, rb.customer_id, rb.customer_name, v.bid, g.id,
      v.stripe_id, coalesce(v.number, v.stripe_id), g.d, jsonb_build_object('account', g.account, 'invoice_status', 'void')
    from voided v join ug g on g.id = v.gid join recon_billing_records rb on rb.id = v.bid
    union all
    select 'duplicate_in_gl:' || g.key, 'duplicate_in_gl', g.amount, g.currency, null, g.customer_name, null, g.id, null,
      (select min(r) from unnest(g.refs) r), g.d, jsonb_build_object('account', g.account, 'duplicate_of', (select source_file || ':' || source_line from gl_entries where id = d.other_id))
    from dup d join ug g on g.id = d.gid
    where g.id not in (select gid from mism1)
    union all
    select 'missing_in_gl:' || b.key, 'missing_in_gl', b.amount, b.currency, b.customer_id, b.customer_name, b.id, null, b.stripe_id,
      b.refs[1], b.d, jsonb_build_object('billing_kind', b.kind, 'account_class', b.cls)
    from ub b
    where b.id not in (select bid from mism1)
    union all
    select 'missing_in_billing:' || g.key, 'missing_in_billing', g.amount, g.currency, null, g.customer_name, null, g.id, null,
      (select min(r) from unnest(g.refs) r), g.d, jsonb_build_object('account', g.account, 'memo', g.memo)
    from ug g
    where g.id not in (select gid from mism1) and g.id not in (select gid from voided) and g.id not in (select gid from dup)
      and g.id not in (select gid from expected)
    union all
    select 'failed_payment:' || i.id, 'failed_payment', i.amount_remaining, upper(i.currency), i.customer_id, coalesce(i.customer_name, cu.name),
      rb.id, null, i.id, i.number, (coalesce(i.due_date, i.finalized_at, i.created) at time zone ${o.timezone})::date,
      jsonb_build_object('attempt_count', i.attempt_count, 'next_payment_attempt', i.next_payment_attempt, 'due_date', i.due_date)
    from stripe_invoices i
    left join stripe_customers cu on cu.id = i.customer_id
    left join recon_billing_records rb on rb.record_key = 'invoice:' || i.id
    where i.status = 'open' and i.attempt_count > 0 and coalesce(i.due_date, i.finalized_at, i.created) < ${o.now}
    union all
    select 'dispute_open:' || d.id, 'dispute_open', d.amount, upper(d.currency), c.customer_id, cu.name, rb.id, null, d.id, d.charge_id,
      (d.created at time zone ${o.timezone})::date,
      jsonb_build_object('reason', d.reason, 'status', d.status, 'evidence_due_by', d.evidence_due_by)
    from stripe_disputes d
    left join stripe_charges c on c.id = d.charge_id
    left join stripe_customers cu on cu.id = c.customer_id
    left join recon_billing_records rb on rb.record_key = 'dispute:' || d.id
    where d.status in ('needs_response', 'under_review', 'warning_needs_response', 'warning_under_review')
    )
    -- severity from the amount in the reporting currency and the age in days
    select s.dedupe_key, s.kind, s.amount, s.currency, s.customer_id, s.customer_name, s.billing_record_id, s.gl_entry_id,
      s.stripe_id, s.reference, s.since, s.details, case
      when s.major >= ${o.highValueMajor}::numeric then 'critical'
      when s.major >= ${o.highValueMajor}::numeric / 5 or s.age > 30 then 'high'
      when s.major >= ${o.highValueMajor}::numeric / 50 or s.age > 7 or s.major is null then 'medium'
      else 'low' end as severity
    from (
      -- x_rates has one row per currency: the left join neither adds nor drops a condition
      select c.*, abs(c.amount)::numeric / power(10, r.exp) * r.rate as major, ${today} - c.since as age
      from conds c left join x_rates r on r.currency = c.currency
    ) s`.execute(trx);

  const summary = (kind: string) => sql`
    case ${sql.raw(kind)}
      when 'missing_in_gl' then 'Stripe has it, the GL does not'
      when 'missing_in_billing' then 'The GL has it, Stripe does not'
      when 'amount_mismatch' then 'Stripe and the GL disagree on the amount'
      when 'void_not_reflected' then 'Invoice voided in Stripe, still posted in the GL'
      when 'duplicate_in_gl' then 'Posted twice in the GL'
      when 'fx_variance_over_tolerance' then 'GL booked at a rate outside the FX tolerance'
      when 'failed_payment' then 'Open invoice past due with failed payment attempts'
      when 'dispute_open' then 'Open dispute'
    end`;

  // new conditions open; ones that were auto-resolved and came back reopen; data refreshes in place
  const upserted = await sql<{ id: bigint; inserted: boolean; reopened: boolean; status: string }>`
    with prev as (
      select e.dedupe_key, e.status from exceptions e join x_cond c using (dedupe_key)
    ), up as (
      insert into exceptions as e (dedupe_key, kind, status, severity, amount, currency, customer_id, customer_name,
        billing_record_id, gl_entry_id, stripe_id, reference, summary, details, first_seen_run, last_seen_run, opened_at, updated_at)
      select c.dedupe_key, c.kind, 'open', c.severity, c.amount, c.currency, c.customer_id, c.customer_name,
        c.billing_record_id, c.gl_entry_id, c.stripe_id, c.reference, ${summary('c.kind')}, c.details, ${o.runId}, ${o.runId}, ${o.now}, ${o.now}
      from x_cond c
      on conflict (dedupe_key) do update set
        status = case when e.status = 'auto_resolved' then 'reopened' else e.status end,
        severity = excluded.severity, amount = excluded.amount, currency = excluded.currency,
        customer_id = excluded.customer_id, customer_name = excluded.customer_name,
        billing_record_id = excluded.billing_record_id, gl_entry_id = excluded.gl_entry_id,
        stripe_id = excluded.stripe_id, reference = excluded.reference, details = excluded.details,
        last_seen_run = excluded.last_seen_run, updated_at = excluded.updated_at,
        version = e.version + 1
      where e.status = 'auto_resolved'
         or (e.status <> 'resolved' and (e.severity, e.amount, e.currency, e.customer_id, e.customer_name, e.billing_record_id,
               e.gl_entry_id, e.stripe_id, e.reference, e.details)
             is distinct from (excluded.severity, excluded.amount, excluded.currency, excluded.customer_id, excluded.customer_name,
               excluded.billing_record_id, excluded.gl_entry_id, excluded.stripe_id, excluded.reference, excluded.details))
      returning e.id, e.dedupe_key, e.kind, e.status, e.amount, e.currency, (xmax = 0) as inserted
    ), changed as (
      -- every sub-statement sees the table as it was before this statement: prev is the old status
      select up.*, (prev.status = 'auto_resolved') as reopened from up left join prev using (dedupe_key)
    ), audit as (
      insert into audit_log (occurred_at, actor_kind, actor_id, action, entity_type, entity_id, before, after, source, context)
      select ${o.now}, 'system', 'reconcile', case when up.inserted then 'exception.opened' else 'exception.reopened' end,
        'exception', up.id::text,
        case when up.inserted then null else jsonb_build_object('status', 'auto_resolved') end,
        jsonb_build_object('status', up.status, 'kind', up.kind, 'amount', up.amount::text, 'currency', up.currency),
        'scheduler', jsonb_build_object('run_id', ${o.runId}::text)
      from changed up where up.inserted or up.reopened
    )
    select id, inserted, coalesce(reopened, false) as reopened, status from changed`.execute(trx);

  // A run limited by --from / --to only looked at records in its window: an exception about a
  // record it never considered (still active and unmatched, but not among the open records) has not
  // been explained, so it stays as it is. Stripe-state kinds do not depend on the window. (A run
  // without a window considers every active record, so the check is skipped.)
  const outOfScope = sql`
        and (e.kind in ('failed_payment', 'dispute_open') or (
          not exists (
            select 1 from recon_billing_records b
            where b.id = e.billing_record_id and b.active
              and b.id not in (select record_id from recon_match_members where side = 'billing') and b.id not in (select id from w_bill))
          and not exists (
            select 1 from gl_entries g join w_acct a on a.account = g.account
            where g.id = e.gl_entry_id
              and g.id not in (select record_id from recon_match_members where side = 'gl') and g.id not in (select id from w_gl))))`;

  // conditions that no longer hold: the matching found the counterpart, Stripe moved on
  const resolved = await sql<{ id: bigint }>`
    with old as (
      -- locked and read first: the audit entry says what the status was (open, assigned, snoozed, reopened)
      select e.id, e.status from exceptions e
      where e.status in ('open', 'assigned', 'snoozed', 'reopened')
        -- only the kinds this derivation produces (a credit-balance mismatch is checked elsewhere)
        and e.kind = any(${DERIVED_KINDS}::text[])
        -- NOT IN over a hashed subplan: one hash of this run's conditions, whatever the planner
        -- believes about row counts (neither table has statistics yet inside this transaction)
        and e.dedupe_key not in (select dedupe_key from x_cond)
        ${o.scoped ? outOfScope : sql``}
      for update
    ), gone as (
      update exceptions e set status = 'auto_resolved', resolved_at = ${o.now}, resolved_by = 'billops', updated_at = ${o.now},
        version = e.version + 1, last_seen_run = ${o.runId}
      from old where e.id = old.id and e.status in ('open', 'assigned', 'snoozed', 'reopened')
      returning e.id, e.kind, old.status as before_status
    ), audit as (
      insert into audit_log (occurred_at, actor_kind, actor_id, action, entity_type, entity_id, before, after, source, context)
      select ${o.now}, 'system', 'reconcile', 'exception.auto_resolved', 'exception', gone.id::text,
        jsonb_build_object('status', gone.before_status), jsonb_build_object('status', 'auto_resolved', 'kind', gone.kind),
        'scheduler', jsonb_build_object('run_id', ${o.runId}::text)
      from gone
    )
    select id from gone`.execute(trx);

  const active = await sql<{ n: bigint }>`select count(*) as n from exceptions where status in ('open', 'assigned', 'snoozed', 'reopened')`.execute(trx);
  const opened = upserted.rows.filter((r) => r.inserted).length;
  const reopened = upserted.rows.filter((r) => r.reopened).length;
  return {
    opened,
    reopened,
    autoResolved: resolved.rows.length,
    updated: upserted.rows.length - opened - reopened,
    active: Number(active.rows[0]?.n ?? 0n),
  };
}
