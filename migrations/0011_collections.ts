import { type Kysely, sql } from 'kysely';

/**
 * Collections and dunning.
 *
 * `collection_steps`: one row per (invoice, step) that was claimed, performed, skipped or closed. The
 * primary key is the exactly-once guarantee: a replica claims a step by inserting its row with
 * `ON CONFLICT DO NOTHING` before any side effect, so two replicas (or a rerun) never both perform
 * it. `effects_done` lists the side effects already carried out, so a retry after a partial failure
 * does not repeat them. A `running` row holds a lease; a replica that dies holding it is taken over
 * after `lease_until`.
 *
 * `collection_exits`: the moment an invoice that was in dunning left it (paid, voided, written off,
 * credited), recorded once — by Stripe event processing or by the job.
 *
 * `collection_pauses`: promise-to-pay pauses. At most one in force per customer (cleared_at null);
 * it lapses by date (`until_day` is the last paused day, in the org time zone), and the job records
 * the lapse once (`lapsed_at`).
 *
 * Plus a partial index on the invoices still owed, which every collections and aging query starts from.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table collection_steps (
      invoice_id text not null,
      step_id text not null,
      segment text not null,
      customer_id text,
      step_day integer not null,
      step_kind text not null check (step_kind in ('reminder', 'follow_up', 'escalation', 'formal')),
      due_on date not null,
      status text not null check (status in ('running', 'done', 'failed', 'skipped', 'closed')),
      idempotency_key text not null check (length(idempotency_key) <= 255),
      attempts integer not null default 0,
      effects_done text[] not null default '{}',
      result jsonb not null default '{}'::jsonb,
      reason text,
      last_error text,
      amount_remaining bigint,
      currency text,
      lease_until timestamptz,
      locked_by text,
      claimed_on date not null,
      claimed_at timestamptz not null,
      finished_at timestamptz,
      updated_at timestamptz not null,
      primary key (invoice_id, step_id)
    )`.execute(db);
  await sql`create index collection_steps_pending_idx on collection_steps (status, updated_at) where status in ('running', 'failed')`.execute(db);
  await sql`create index collection_steps_day_idx on collection_steps (claimed_on)`.execute(db);

  await sql`
    create table collection_exits (
      invoice_id text primary key,
      customer_id text,
      status text,
      amount_remaining bigint,
      currency text,
      via text not null,
      left_at timestamptz not null
    )`.execute(db);

  await sql`
    create table collection_pauses (
      id bigint generated always as identity primary key,
      customer_id text not null,
      until_day date not null,
      note text not null,
      set_by text not null,
      set_by_name text,
      source text not null,
      created_at timestamptz not null,
      cleared_at timestamptz,
      cleared_by text,
      clear_note text,
      lapsed_at timestamptz
    )`.execute(db);
  await sql`create unique index collection_pauses_one_idx on collection_pauses (customer_id) where cleared_at is null`.execute(db);

  await sql`create index stripe_invoices_owed_idx on stripe_invoices (customer_id) where status = 'open' and amount_remaining > 0`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists stripe_invoices_owed_idx`.execute(db);
  await sql`drop table if exists collection_pauses`.execute(db);
  await sql`drop table if exists collection_exits`.execute(db);
  await sql`drop table if exists collection_steps`.execute(db);
}
