import { type Kysely, sql } from 'kysely';

/**
 * Stripe ingest: the durable event log and work queue (`stripe_events`), the normalized copy of
 * Stripe's billing objects, the backfill's resumable cursors and the imported report rows.
 *
 * Every normalized table is keyed by the Stripe id and carries the same version columns:
 *   raw               the object as Stripe sent it (jsonb)
 *   version_at        when that state was true: the event's `created`, or the fetch time of an API read
 *   version_rank      the object's progress within one second (status order, retry count, …)
 *   version_event_id  the event that carried the state (null for API reads)
 *   synced_at         when billops wrote the row
 *   changed_at        when the stored object last changed (a refresh with the same data keeps it)
 * An upsert only replaces a row when (version_at, version_rank, md5(raw)) is greater — see
 * src/stripe/normalize/upsert.ts for the rule and why it makes any delivery order converge.
 * Money is int8 minor units with a currency column; timestamps are timestamptz.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table stripe_events (
      id text primary key,
      type text not null,
      api_version text,
      created timestamptz not null,
      object_id text,
      livemode boolean not null,
      payload jsonb not null,
      received_at timestamptz not null,
      source text not null default 'webhook' check (source in ('webhook', 'api', 'demo')),
      status text not null default 'pending' check (status in ('pending', 'processing', 'processed', 'ignored', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      locked_until timestamptz,
      locked_by text,
      last_error text,
      note text,
      processed_at timestamptz
    )`.execute(db);
  // The queue: only rows still to do are indexed, so the index stays small however long the log grows.
  await sql`
    create index stripe_events_queue_idx on stripe_events (next_attempt_at, id)
    where status in ('pending', 'processing')`.execute(db);
  await sql`create index stripe_events_object_idx on stripe_events (object_id, created)`.execute(db);
  // A queue table churns: every event is updated twice and leaves the queue index. Vacuum and
  // analyze it early so dead entries are cleared and the claim keeps its ordered index scan.
  await sql`
    alter table stripe_events set (
      autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01)`.execute(db);

  const versionColumns = sql`
      raw jsonb not null,
      version_at timestamptz not null,
      version_rank bigint not null,
      version_event_id text,
      synced_at timestamptz not null,
      changed_at timestamptz not null`;

  await sql`
    create table stripe_customers (
      id text primary key,
      email text,
      name text,
      description text,
      currency text,
      balance bigint not null default 0,
      delinquent boolean,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      deleted_at timestamptz,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_customers_email_idx on stripe_customers (lower(email))`.execute(db);

  await sql`
    create table stripe_subscriptions (
      id text primary key,
      customer_id text not null,
      status text not null,
      currency text not null,
      collection_method text,
      price_id text,
      product_id text,
      plan_interval text,
      plan_interval_count integer,
      unit_amount bigint,
      quantity bigint,
      items jsonb not null,
      current_period_start timestamptz,
      current_period_end timestamptz,
      trial_start timestamptz,
      trial_end timestamptz,
      cancel_at_period_end boolean not null,
      cancel_at timestamptz,
      canceled_at timestamptz,
      ended_at timestamptz,
      pause_behavior text,
      pause_resumes_at timestamptz,
      discounts jsonb not null default '[]'::jsonb,
      latest_invoice_id text,
      start_date timestamptz,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_subscriptions_customer_idx on stripe_subscriptions (customer_id)`.execute(db);

  await sql`
    create table stripe_invoices (
      id text primary key,
      number text,
      customer_id text,
      subscription_id text,
      status text,
      currency text not null,
      amount_due bigint not null,
      amount_paid bigint not null,
      amount_remaining bigint not null,
      subtotal bigint not null,
      total bigint not null,
      tax bigint not null,
      starting_balance bigint,
      ending_balance bigint,
      pre_payment_credit_notes_amount bigint not null default 0,
      post_payment_credit_notes_amount bigint not null default 0,
      collection_method text,
      billing_reason text,
      due_date timestamptz,
      attempt_count integer not null,
      attempted boolean not null,
      next_payment_attempt timestamptz,
      period_start timestamptz,
      period_end timestamptz,
      finalized_at timestamptz,
      paid_at timestamptz,
      voided_at timestamptz,
      marked_uncollectible_at timestamptz,
      overdue_at timestamptz,
      deleted_at timestamptz,
      customer_email text,
      customer_name text,
      discounts jsonb not null default '[]'::jsonb,
      hosted_invoice_url text,
      lines_complete boolean not null,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_invoices_number_idx on stripe_invoices (number)`.execute(db);
  await sql`create index stripe_invoices_customer_idx on stripe_invoices (customer_id)`.execute(db);
  await sql`create index stripe_invoices_subscription_idx on stripe_invoices (subscription_id)`.execute(db);

  await sql`
    create table stripe_invoice_lines (
      invoice_id text not null,
      id text not null,
      line_type text not null,
      amount bigint not null,
      currency text not null,
      description text,
      quantity bigint,
      period_start timestamptz,
      period_end timestamptz,
      proration boolean not null,
      price_id text,
      product_id text,
      subscription_id text,
      subscription_item_id text,
      invoice_item_id text,
      discount_amount bigint not null default 0,
      raw jsonb not null,
      primary key (invoice_id, id)
    )`.execute(db);

  await sql`
    create table stripe_invoice_payments (
      id text primary key,
      invoice_id text not null,
      payment_type text,
      payment_intent_id text,
      charge_id text,
      amount_paid bigint,
      amount_requested bigint not null,
      currency text not null,
      status text not null,
      is_default boolean,
      paid_at timestamptz,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_invoice_payments_invoice_idx on stripe_invoice_payments (invoice_id)`.execute(db);
  await sql`create index stripe_invoice_payments_pi_idx on stripe_invoice_payments (payment_intent_id)`.execute(db);

  await sql`
    create table stripe_charges (
      id text primary key,
      customer_id text,
      payment_intent_id text,
      invoice_id text,
      amount bigint not null,
      amount_captured bigint not null,
      amount_refunded bigint not null,
      currency text not null,
      status text not null,
      paid boolean not null,
      captured boolean not null,
      refunded boolean not null,
      disputed boolean not null,
      balance_transaction_id text,
      failure_balance_transaction_id text,
      failure_code text,
      failure_message text,
      description text,
      payment_method_type text,
      card_brand text,
      card_last4 text,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_charges_customer_idx on stripe_charges (customer_id)`.execute(db);
  await sql`create index stripe_charges_pi_idx on stripe_charges (payment_intent_id)`.execute(db);
  await sql`create index stripe_charges_txn_idx on stripe_charges (balance_transaction_id)`.execute(db);

  await sql`
    create table stripe_refunds (
      id text primary key,
      charge_id text,
      payment_intent_id text,
      amount bigint not null,
      currency text not null,
      status text,
      reason text,
      balance_transaction_id text,
      failure_balance_transaction_id text,
      metadata jsonb not null default '{}'::jsonb,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_refunds_charge_idx on stripe_refunds (charge_id)`.execute(db);
  await sql`create index stripe_refunds_txn_idx on stripe_refunds (balance_transaction_id)`.execute(db);

  await sql`
    create table stripe_disputes (
      id text primary key,
      charge_id text,
      payment_intent_id text,
      amount bigint not null,
      currency text not null,
      status text not null,
      reason text,
      evidence_due_by timestamptz,
      is_charge_refundable boolean,
      balance_transaction_ids text[] not null default '{}',
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_disputes_charge_idx on stripe_disputes (charge_id)`.execute(db);

  await sql`
    create table stripe_credit_notes (
      id text primary key,
      number text,
      invoice_id text,
      customer_id text,
      status text not null,
      type text,
      reason text,
      currency text not null,
      amount bigint not null,
      subtotal bigint,
      total bigint,
      discount_amount bigint,
      pre_payment_amount bigint,
      post_payment_amount bigint,
      out_of_band_amount bigint,
      customer_balance_transaction_id text,
      refund_ids text[] not null default '{}',
      memo text,
      effective_at timestamptz,
      voided_at timestamptz,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_credit_notes_invoice_idx on stripe_credit_notes (invoice_id)`.execute(db);

  await sql`
    create table stripe_balance_transactions (
      id text primary key,
      type text not null,
      reporting_category text not null,
      amount bigint not null,
      fee bigint not null,
      net bigint not null,
      currency text not null,
      exchange_rate numeric,
      source_id text,
      source_type text,
      payout_id text,
      status text not null,
      available_on timestamptz,
      description text,
      fee_details jsonb not null default '[]'::jsonb,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);
  await sql`create index stripe_balance_transactions_source_idx on stripe_balance_transactions (source_id)`.execute(db);
  await sql`create index stripe_balance_transactions_payout_idx on stripe_balance_transactions (payout_id)`.execute(db);
  await sql`create index stripe_balance_transactions_created_idx on stripe_balance_transactions (created)`.execute(db);

  await sql`
    create table stripe_payouts (
      id text primary key,
      amount bigint not null,
      currency text not null,
      status text not null,
      arrival_date timestamptz,
      automatic boolean not null,
      method text,
      type text,
      balance_transaction_id text,
      failure_balance_transaction_id text,
      failure_code text,
      failure_message text,
      destination_id text,
      description text,
      statement_descriptor text,
      reconciliation_status text,
      members_synced_at timestamptz,
      metadata jsonb not null default '{}'::jsonb,
      livemode boolean not null,
      created timestamptz not null,
      ${versionColumns}
    )`.execute(db);

  // Backfill: one run at a time; each list endpoint keeps the last object id committed, so an
  // interrupted run resumes at the next page.
  await sql`
    create table stripe_backfill_runs (
      id bigint generated always as identity primary key,
      since timestamptz,
      status text not null check (status in ('running', 'completed', 'interrupted')),
      started_at timestamptz not null,
      finished_at timestamptz,
      last_error text
    )`.execute(db);
  await sql`
    create table stripe_backfill_cursors (
      run_id bigint not null references stripe_backfill_runs (id),
      resource text not null,
      starting_after text,
      done boolean not null default false,
      fetched bigint not null default 0,
      changed bigint not null default 0,
      updated_at timestamptz not null,
      primary key (run_id, resource)
    )`.execute(db);

  // Stripe's "Balance change from activity — itemized" report, as imported. One row per balance
  // transaction: a later report covering the same period replaces the earlier rows.
  await sql`
    create table stripe_report_imports (
      id bigint generated always as identity primary key,
      file_name text not null,
      sha256 text not null,
      row_count integer not null,
      imported_at timestamptz not null,
      imported_by text not null
    )`.execute(db);
  await sql`
    create table stripe_report_rows (
      balance_transaction_id text primary key,
      import_id bigint not null references stripe_report_imports (id),
      line integer not null,
      created timestamptz not null,
      available_on timestamptz,
      currency text not null,
      gross bigint not null,
      fee bigint not null,
      net bigint not null,
      reporting_category text not null,
      source_id text,
      description text,
      customer_facing_amount bigint,
      customer_facing_currency text,
      automatic_payout_id text,
      customer_id text,
      customer_email text,
      customer_name text,
      invoice_id text,
      invoice_number text,
      subscription_id text,
      charge_id text,
      payment_intent_id text,
      columns jsonb not null
    )`.execute(db);
  await sql`create index stripe_report_rows_payout_idx on stripe_report_rows (automatic_payout_id)`.execute(db);
  await sql`create index stripe_report_rows_invoice_idx on stripe_report_rows (invoice_id)`.execute(db);

  // Every event and object is a few KB of JSON that PostgreSQL compresses on the way in: lz4 does
  // it at a fraction of pglz's CPU. Servers built without lz4 (and embedded PGlite) keep pglz.
  await sql`
    do $$
    declare t text;
    begin
      alter table stripe_events alter column payload set compression lz4;
      foreach t in array array['stripe_customers', 'stripe_subscriptions', 'stripe_invoices', 'stripe_invoice_lines',
        'stripe_invoice_payments', 'stripe_charges', 'stripe_refunds', 'stripe_disputes', 'stripe_credit_notes',
        'stripe_balance_transactions', 'stripe_payouts'] loop
        execute format('alter table %I alter column raw set compression lz4', t);
      end loop;
    exception when feature_not_supported or invalid_parameter_value or undefined_object then
      null;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'stripe_report_rows',
    'stripe_report_imports',
    'stripe_backfill_cursors',
    'stripe_backfill_runs',
    'stripe_payouts',
    'stripe_balance_transactions',
    'stripe_credit_notes',
    'stripe_disputes',
    'stripe_refunds',
    'stripe_charges',
    'stripe_invoice_payments',
    'stripe_invoice_lines',
    'stripe_invoices',
    'stripe_subscriptions',
    'stripe_customers',
    'stripe_events',
  ]) {
    await sql`drop table if exists ${sql.table(t)}`.execute(db);
  }
}
