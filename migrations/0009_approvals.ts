import { type Kysely, sql } from 'kysely';

/**
 * Money actions with approvals.
 *
 * `approval_requests`: one row per request, its status the single source of truth. Every change is a
 * conditional update on the row (under its lock), so a double click or two approvers at once cannot
 * both move it.
 *
 * `approval_decisions`: one row per person per request (the primary key makes "the same approver
 * twice" impossible, whatever the application does).
 *
 * `approval_outbox`: what the executor must do, one row per request (the primary key makes a second
 * enqueue impossible). Claimed with `FOR UPDATE SKIP LOCKED` and a lease, so any number of replicas
 * can run it and a replica that dies mid-call is taken over.
 *
 * `credit_ledger`: every credit billops applied (with reason, requester, approvers and Stripe's
 * balance transaction) and, per customer and currency, the opening balance Stripe reported before
 * the first one. Append-only, like the audit log.
 *
 * Exceptions gain the kind `credit_balance_mismatch`.
 */
const EXCEPTION_KINDS_BEFORE = [
  'missing_in_gl',
  'missing_in_billing',
  'amount_mismatch',
  'void_not_reflected',
  'duplicate_in_gl',
  'fx_variance_over_tolerance',
  'failed_payment',
  'dispute_open',
];

function kindCheck(kinds: string[]) {
  return sql`check (kind in (${sql.join(kinds.map((k) => sql.lit(k)))}))`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table approval_requests (
      id bigint generated always as identity primary key,
      action text not null check (action in ('credit', 'extend_trial', 'pause_collection', 'resume_collection',
        'cancel_at_period_end', 'undo_cancel', 'void_invoice', 'mark_uncollectible', 'resolve_exception')),
      params jsonb not null,
      target_id text not null,
      customer_id text not null,
      customer_label text not null,
      amount bigint,
      currency text,
      title text not null,
      status text not null check (status in ('pending', 'approved', 'executing', 'executed', 'failed', 'rejected', 'expired')),
      required_approvals smallint not null check (required_approvals between 0 and 2),
      policy_note text,
      requested_by text not null,
      requested_by_name text,
      requested_origin jsonb not null default '{}'::jsonb,
      requested_at timestamptz not null,
      expires_at timestamptz not null,
      approved_at timestamptz,
      rejected_by text,
      rejection_reason text,
      rejected_at timestamptz,
      attempts integer not null default 0,
      next_attempt_at timestamptz,
      last_error text,
      stripe_object_id text,
      executed_at timestamptz,
      result jsonb,
      message_channel text,
      message_ts text,
      updated_at timestamptz not null,
      version integer not null default 1,
      check ((amount is null) = (currency is null))
    )`.execute(db);
  await sql`create index approval_requests_status_idx on approval_requests (status, expires_at)`.execute(db);
  await sql`create index approval_requests_requester_idx on approval_requests (requested_by, updated_at desc)`.execute(db);
  await sql`create index approval_requests_target_idx on approval_requests (action, target_id) where status in ('pending', 'approved', 'executing')`.execute(db);

  await sql`
    create table approval_decisions (
      request_id bigint not null references approval_requests (id),
      user_id text not null,
      user_name text,
      decision text not null check (decision in ('approve', 'reject')),
      reason text,
      origin jsonb not null default '{}'::jsonb,
      decided_at timestamptz not null,
      primary key (request_id, user_id)
    )`.execute(db);

  await sql`
    create table approval_outbox (
      request_id bigint primary key references approval_requests (id),
      action text not null,
      idempotency_key text not null unique check (length(idempotency_key) <= 255),
      status text not null check (status in ('queued', 'running', 'done', 'failed')),
      attempts integer not null default 0,
      next_attempt_at timestamptz not null,
      locked_until timestamptz,
      locked_by text,
      first_attempt_at timestamptz,
      last_attempt_at timestamptz,
      last_error text,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`create index approval_outbox_due_idx on approval_outbox (next_attempt_at) where status in ('queued', 'running')`.execute(db);

  await sql`
    create table credit_ledger (
      id bigint generated always as identity primary key,
      customer_id text not null,
      kind text not null check (kind in ('opening', 'credit')),
      amount bigint not null,
      currency text not null,
      reason_code text,
      note text,
      request_id bigint unique references approval_requests (id),
      requested_by text,
      approved_by text[] not null default '{}',
      stripe_balance_transaction_id text unique,
      stripe_ending_balance bigint,
      occurred_at timestamptz not null,
      check ((kind = 'credit') = (request_id is not null))
    )`.execute(db);
  await sql`create index credit_ledger_customer_idx on credit_ledger (customer_id, occurred_at, id)`.execute(db);
  await sql`create unique index credit_ledger_opening_idx on credit_ledger (customer_id, currency) where kind = 'opening'`.execute(db);
  await sql`
    create function credit_ledger_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'credit_ledger is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`
    create trigger credit_ledger_no_update_delete before update or delete on credit_ledger
    for each row execute function credit_ledger_is_append_only()`.execute(db);
  await sql`
    create trigger credit_ledger_no_truncate before truncate on credit_ledger
    for each statement execute function credit_ledger_is_append_only()`.execute(db);

  await sql`alter table exceptions drop constraint exceptions_kind_check`.execute(db);
  await sql`alter table exceptions add constraint exceptions_kind_check ${kindCheck([...EXCEPTION_KINDS_BEFORE, 'credit_balance_mismatch'])}`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`delete from exceptions where kind = 'credit_balance_mismatch'`.execute(db);
  await sql`alter table exceptions drop constraint exceptions_kind_check`.execute(db);
  await sql`alter table exceptions add constraint exceptions_kind_check ${kindCheck(EXCEPTION_KINDS_BEFORE)}`.execute(db);
  await sql`drop table if exists credit_ledger`.execute(db);
  await sql`drop function if exists credit_ledger_is_append_only()`.execute(db);
  await sql`drop table if exists approval_outbox`.execute(db);
  await sql`drop table if exists approval_decisions`.execute(db);
  await sql`drop table if exists approval_requests`.execute(db);
}
