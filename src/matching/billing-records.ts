import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/index.js';
import type { Clock } from '../util/index.js';

/**
 * Bring `recon_billing_records` up to date with the normalized Stripe tables: one record per posting
 * Stripe implies in the GL. Incremental: only Stripe rows changed since the last refresh (their own
 * `changed_at`, or that of the balance transaction / invoice they are read together with) are
 * rewritten, and a record whose content did not change is left untouched.
 *
 * Sign: positive in the normal direction of the account class (an invoice raises receivables, a
 * payment lowers them; a charge raises the clearing balance, refunds, fees, payouts and disputes
 * lower it). Dates are calendar days in the org's time zone.
 */
export async function refreshBillingRecords(db: Kysely<Database>, opts: { timezone: string; clock: Clock; full?: boolean }): Promise<number> {
  // Must run inside a transaction: the ids it rewrote are left in the temp table w_refreshed.
  const now = opts.clock.now();
  const wmRow = await sql<{ value: string }>`select value from recon_state where key = 'billing_records_watermark'`.execute(db);
  // Five minutes of overlap: a transaction that stamped its rows just before the last refresh read
  // the watermark may have committed just after. Rewriting an unchanged record is a no-op.
  const since = opts.full || !wmRow.rows[0] ? new Date(0) : new Date(new Date(wmRow.rows[0].value).getTime() - 5 * 60_000);
  const tz = opts.timezone;
  const day = (col: string) => sql.raw(`((${col}) at time zone '${tz.replace(/'/g, "''")}')::date`);

  // The newest change this refresh will have seen; read first so nothing written meanwhile is skipped.
  const top = await sql<{ m: Date | null }>`
    select greatest(
      (select max(changed_at) from stripe_invoices), (select max(changed_at) from stripe_charges),
      (select max(changed_at) from stripe_refunds), (select max(changed_at) from stripe_balance_transactions),
      (select max(changed_at) from stripe_payouts), (select max(changed_at) from stripe_disputes),
      (select max(changed_at) from stripe_credit_notes), (select max(changed_at) from stripe_invoice_payments)) as m`.execute(db);
  const until = top.rows[0]?.m ?? null;
  if (!until) {
    await sql`create temp table if not exists w_refreshed (id bigint not null) on commit drop`.execute(db);
    return 0;
  }

  const source = sql`
    -- invoices: finalized ones raise receivables; a voided invoice stays as an inactive record so
    -- that a GL posting still carrying it can be recognised as "void not reflected"
    select 'invoice:' || i.id as record_key, 'invoice' as kind, i.id as stripe_id, 'receivable' as account_class,
      array_remove(array[i.id, i.number], null) as refs,
      i.customer_id, coalesce(i.customer_name, cu.name) as customer_name,
      i.total as amount, upper(i.currency) as currency, null::bigint as settlement_amount, null::text as settlement_currency,
      ${day('coalesce(i.finalized_at, i.created)')} as occurred_on, null::text as group_key, i.status,
      i.status in ('open', 'paid', 'uncollectible') as active, i.changed_at as source_changed_at
    from stripe_invoices i left join stripe_customers cu on cu.id = i.customer_id
    where i.status in ('open', 'paid', 'uncollectible', 'void') and i.changed_at > ${since}
    union all
    -- payments: a succeeded charge that paid an invoice lowers receivables
    select 'payment:' || c.id, 'payment', c.id, 'receivable',
      array_remove(array[c.id, c.payment_intent_id, inv.id, inv.number], null),
      c.customer_id, cu.name, -c.amount, upper(c.currency), null, null,
      ${day('c.created')}, inv.id, c.status, c.status = 'succeeded' and c.captured, greatest(c.changed_at, inv.changed_at)
    from stripe_charges c
    join lateral (
      select i.id, i.number, i.changed_at from stripe_invoices i
      where i.id = c.invoice_id
         or i.id = (select p.invoice_id from stripe_invoice_payments p
                    where (p.charge_id = c.id or p.payment_intent_id = c.payment_intent_id) and p.status = 'paid' limit 1)
      limit 1) inv on true
    left join stripe_customers cu on cu.id = c.customer_id
    where (c.changed_at > ${since} or inv.changed_at > ${since})
    union all
    -- credit notes lower receivables
    select 'credit_note:' || n.id, 'credit_note', n.id, 'receivable',
      array_remove(array[n.id, n.number, i.id, i.number], null),
      n.customer_id, cu.name, -coalesce(n.total, n.amount), upper(n.currency), null, null,
      ${day('coalesce(n.effective_at, n.created)')}, n.invoice_id, n.status, n.status = 'issued', n.changed_at
    from stripe_credit_notes n
    left join stripe_invoices i on i.id = n.invoice_id
    left join stripe_customers cu on cu.id = n.customer_id
    where n.changed_at > ${since}
    union all
    -- charges raise the clearing balance; the balance transaction says what settled, in which currency
    select 'charge:' || c.id, 'charge', c.id, 'clearing',
      array_remove(array[c.id, c.balance_transaction_id, c.payment_intent_id, i.number], null),
      c.customer_id, cu.name, c.amount, upper(c.currency), bt.amount, upper(bt.currency),
      ${day('c.created')}, bt.payout_id, c.status, c.status = 'succeeded' and c.captured,
      greatest(c.changed_at, bt.changed_at)
    from stripe_charges c
    left join stripe_balance_transactions bt on bt.id = c.balance_transaction_id
    left join stripe_invoices i on i.id = c.invoice_id
    left join stripe_customers cu on cu.id = c.customer_id
    where c.status in ('succeeded', 'pending') and (c.changed_at > ${since} or bt.changed_at > ${since})
    union all
    select 'refund:' || r.id, 'refund', r.id, 'clearing',
      array_remove(array[r.id, r.balance_transaction_id, r.charge_id], null),
      c.customer_id, cu.name, -r.amount, upper(r.currency), bt.amount, upper(bt.currency),
      ${day('r.created')}, bt.payout_id, r.status, r.status = 'succeeded', greatest(r.changed_at, bt.changed_at)
    from stripe_refunds r
    left join stripe_balance_transactions bt on bt.id = r.balance_transaction_id
    left join stripe_charges c on c.id = r.charge_id
    left join stripe_customers cu on cu.id = c.customer_id
    where (r.changed_at > ${since} or bt.changed_at > ${since})
    union all
    -- Stripe's processing fee on each balance transaction, in the settlement currency
    select 'fee:' || bt.id, 'fee', bt.id, 'clearing',
      array_remove(array[bt.id, bt.source_id], null),
      null, null, -bt.fee, upper(bt.currency), null, null,
      ${day('bt.created')}, bt.payout_id, bt.status, true, bt.changed_at
    from stripe_balance_transactions bt
    where bt.fee <> 0 and bt.changed_at > ${since}
    union all
    select 'payout:' || p.id, 'payout', p.id, 'clearing',
      array_remove(array[p.id, p.balance_transaction_id], null),
      null, null, -p.amount, upper(p.currency), null, null,
      ${day('coalesce(p.arrival_date, p.created)')}, p.id, p.status, p.status in ('paid', 'in_transit'), p.changed_at
    from stripe_payouts p
    where p.changed_at > ${since}
    union all
    select 'dispute:' || d.id, 'dispute', d.id, 'clearing',
      array_remove(array[d.id, d.charge_id] || d.balance_transaction_ids, null),
      c.customer_id, cu.name, -d.amount, upper(d.currency), null, null,
      ${day('d.created')}, null, d.status, d.status not in ('warning_needs_response', 'warning_under_review', 'warning_closed'), d.changed_at
    from stripe_disputes d
    left join stripe_charges c on c.id = d.charge_id
    left join stripe_customers cu on cu.id = c.customer_id
    where d.changed_at > ${since}`;

  // Records rewritten by this refresh, for the caller (a changed record's old match is dissolved).
  await sql`create temp table if not exists w_refreshed (id bigint not null) on commit drop`.execute(db);
  await sql`truncate w_refreshed`.execute(db);
  const res = await sql`
    with up as (
    insert into recon_billing_records as r (record_key, kind, stripe_id, account_class, refs, customer_id, customer_name,
      amount, currency, settlement_amount, settlement_currency, occurred_on, group_key, status, active, source_changed_at, refreshed_at)
    select distinct on (record_key) s.*, ${now}::timestamptz from (${source}) s
    order by record_key, source_changed_at desc
    on conflict (record_key) do update set
      refs = excluded.refs, customer_id = excluded.customer_id, customer_name = excluded.customer_name,
      amount = excluded.amount, currency = excluded.currency, settlement_amount = excluded.settlement_amount,
      settlement_currency = excluded.settlement_currency, occurred_on = excluded.occurred_on,
      group_key = excluded.group_key, status = excluded.status, active = excluded.active,
      source_changed_at = excluded.source_changed_at, refreshed_at = excluded.refreshed_at
    where (r.refs, r.customer_id, r.customer_name, r.amount, r.currency, r.settlement_amount, r.settlement_currency,
           r.occurred_on, r.group_key, r.status, r.active)
      is distinct from
          (excluded.refs, excluded.customer_id, excluded.customer_name, excluded.amount, excluded.currency,
           excluded.settlement_amount, excluded.settlement_currency, excluded.occurred_on, excluded.group_key,
           excluded.status, excluded.active)
    returning r.id
    )
    insert into w_refreshed select id from up`.execute(db);

  await sql`
    insert into recon_state (key, value, updated_at) values ('billing_records_watermark', ${until.toISOString()}, ${now})
    on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`.execute(db);
  return Number(res.numAffectedRows ?? 0n);
}
