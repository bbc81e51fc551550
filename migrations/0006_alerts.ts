import { type Kysely, sql } from 'kysely';

/**
 * Digests and DM alerts.
 *
 * `digest_posts`: one row per digest attempt. The `as_of` of the last `posted` one is where "new since
 * the last digest" starts, so the next digest covers exactly the time in between; a failed attempt
 * does not move it.
 *
 * `alert_deliveries`: one row per alert that must go out at most once per period (a straggler DM per
 * exception per day in the org time zone). The unique `dedupe_key` is inserted before sending, so of
 * several replicas racing only one sends. A failed send is marked `failed`, and a claim left `sending`
 * by a replica that died is taken over after a lease; either can be claimed again by a later run.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table digest_posts (
      id bigint generated always as identity primary key,
      kind text not null,
      channel text not null,
      as_of timestamptz not null,
      since timestamptz,
      status text not null check (status in ('posting', 'posted', 'failed')),
      ts text,
      thread_messages integer not null default 0,
      summary jsonb,
      error text,
      started_at timestamptz not null,
      finished_at timestamptz
    )`.execute(db);
  await sql`create index digest_posts_last_idx on digest_posts (kind, as_of desc) where status = 'posted'`.execute(db);

  await sql`
    create table alert_deliveries (
      id bigint generated always as identity primary key,
      dedupe_key text not null unique,
      alert text not null,
      exception_id bigint,
      day date not null,
      status text not null check (status in ('sending', 'sent', 'failed')),
      recipients text[] not null default '{}',
      channel text,
      ts text,
      attempts integer not null default 1,
      error text,
      claimed_at timestamptz not null,
      sent_at timestamptz
    )`.execute(db);
  await sql`create index alert_deliveries_exception_idx on alert_deliveries (exception_id, day)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists alert_deliveries`.execute(db);
  await sql`drop table if exists digest_posts`.execute(db);
}
