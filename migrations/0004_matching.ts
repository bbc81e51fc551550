import { type Kysely, sql } from 'kysely';

/**
 * Matching and the exception queue.
 *
 * `recon_billing_records` is what Stripe says should be in the GL: one row per expected posting
 * (an invoice on receivables, a charge / refund / fee / payout / dispute on the Stripe clearing
 * account, …), refreshed from the normalized Stripe tables. `recon_matches` holds the matches with
 * their members; a record in no match is billing-only or GL-only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table recon_billing_records (
      id bigint generated always as identity primary key,
      record_key text not null unique,
      kind text not null,
      stripe_id text not null,
      account_class text not null,
      refs text[] not null,
      customer_id text,
      customer_name text,
      amount bigint not null,
      currency text not null,
      settlement_amount bigint,
      settlement_currency text,
      occurred_on date not null,
      group_key text,
      status text,
      active boolean not null,
      source_changed_at timestamptz not null,
      refreshed_at timestamptz not null
    )`.execute(db);
  await sql`create index recon_billing_records_occurred_idx on recon_billing_records (occurred_on)`.execute(db);
  await sql`create index recon_billing_records_group_idx on recon_billing_records (group_key) where group_key is not null`.execute(db);

  await sql`
    create table reconciliation_runs (
      id bigint generated always as identity primary key,
      started_at timestamptz not null,
      finished_at timestamptz,
      status text not null check (status in ('running', 'succeeded', 'failed')),
      window_from date,
      window_to date,
      rules_hash text not null,
      triggered_by text not null,
      summary jsonb,
      duration_ms integer,
      error text
    )`.execute(db);

  // One row per match, its members as id arrays. Writing a million matches is one narrow insert;
  // the engine guarantees a record joins at most one match (it only ever offers still-open records,
  // and the property tests check conservation), so no per-record index has to be maintained.
  await sql`
    create table recon_matches (
      id bigint generated always as identity primary key,
      run_id bigint not null references reconciliation_runs (id),
      rule_name text not null,
      rule_kind text not null,
      variance_kind text not null,
      variance_amount bigint not null default 0,
      variance_currency text,
      billing_ids bigint[] not null,
      gl_ids bigint[] not null,
      billing_count integer not null,
      gl_count integer not null,
      created_at timestamptz not null
    )`.execute(db);
  await sql`create index recon_matches_run_idx on recon_matches (run_id)`.execute(db);
  // The members, one row per (side, record), for readers that think in rows.
  await sql`
    create view recon_match_members as
    select 'billing'::text as side, unnest(billing_ids) as record_id, id as match_id from recon_matches
    union all
    select 'gl'::text, unnest(gl_ids), id from recon_matches`.execute(db);

  // Incremental refresh: how far the billing records have been brought up to date.
  await sql`
    create table recon_state (
      key text primary key,
      value text not null,
      updated_at timestamptz not null
    )`.execute(db);

  await sql`
    create table exceptions (
      id bigint generated always as identity primary key,
      dedupe_key text not null unique,
      kind text not null check (kind in (
        'missing_in_gl', 'missing_in_billing', 'amount_mismatch', 'void_not_reflected',
        'duplicate_in_gl', 'fx_variance_over_tolerance', 'failed_payment', 'dispute_open')),
      status text not null check (status in ('open', 'assigned', 'snoozed', 'resolved', 'auto_resolved', 'reopened')),
      severity text not null check (severity in ('low', 'medium', 'high', 'critical')),
      amount bigint not null,
      currency text not null,
      customer_id text,
      customer_name text,
      billing_record_id bigint,
      gl_entry_id bigint,
      stripe_id text,
      reference text,
      summary text not null,
      details jsonb not null default '{}'::jsonb,
      assignee text,
      snoozed_until timestamptz,
      resolution_code text,
      resolution_note text,
      resolved_by text,
      resolved_at timestamptz,
      first_seen_run bigint,
      last_seen_run bigint,
      opened_at timestamptz not null,
      updated_at timestamptz not null,
      version integer not null default 1
    )`.execute(db);
  await sql`create index exceptions_status_idx on exceptions (status, severity, opened_at)`.execute(db);
  await sql`create index exceptions_assignee_idx on exceptions (assignee) where assignee is not null`.execute(db);
  await sql`create index exceptions_customer_idx on exceptions (customer_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop view if exists recon_match_members`.execute(db);
  for (const t of ['exceptions', 'recon_state', 'recon_matches', 'reconciliation_runs', 'recon_billing_records']) {
    await sql`drop table if exists ${sql.table(t)}`.execute(db);
  }
}
