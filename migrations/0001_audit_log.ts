import { type Kysely, sql } from 'kysely';

/**
 * The append-only audit trail: who did what, when, from where, with before/after. The database
 * itself refuses UPDATE, DELETE and TRUNCATE, so no code path (and no operator with psql by
 * accident) can rewrite history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_log (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null,
      actor_kind text not null check (actor_kind in ('slack_user', 'cli', 'system', 'stripe', 'scheduler')),
      actor_id text not null,
      actor_name text,
      action text not null,
      entity_type text not null,
      entity_id text not null,
      before jsonb,
      after jsonb,
      source text not null,
      context jsonb not null default '{}'::jsonb
    )`.execute(db);
  await sql`create index audit_log_entity_idx on audit_log (entity_type, entity_id, id)`.execute(db);
  await sql`create index audit_log_occurred_at_idx on audit_log (occurred_at, id)`.execute(db);
  await sql`
    create function audit_log_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);
  await sql`
    create trigger audit_log_no_update_delete before update or delete on audit_log
    for each row execute function audit_log_is_append_only()`.execute(db);
  await sql`
    create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_is_append_only()`.execute(db);
}
