import { type Kysely, sql } from 'kysely';

/**
 * The reference index the matching engine joins on.
 *
 * Reference rules pair a billing record and a GL entry that share a reference (a Stripe id, an
 * invoice number). Unnesting the reference arrays of a million records on every run cost more than
 * the join itself, and the planner cannot estimate rows coming out of `unnest`, so it chose poor
 * plans. The index keeps one row per (reference, record) with what a reference rule compares (class,
 * amount, currency, date), maintained by statement-level triggers on the two tables, so every writer
 * — the Stripe refresh, the GL loader, a test fixture — keeps it right in the same transaction, in
 * one set-based statement per write.
 *
 * `gl_accounts` lists every account the GL has used, so classifying accounts reads hundreds of rows
 * instead of scanning every GL line for its distinct accounts.
 *
 * The arrays of `recon_pair_batches` are stored uncompressed: they are incompressible ids, and
 * trying to compress each 32 kB array cost more than writing it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table recon_billing_refs (
      ref text collate "C" not null,
      record_id bigint not null,
      cls text not null,
      kind text not null,
      amount bigint not null,
      currency text not null,
      d date not null,
      active boolean not null
    )`.execute(db);
  await sql`create index recon_billing_refs_record_idx on recon_billing_refs (record_id)`.execute(db);
  // voided / uncollectible records whose reference a GL line still carries ("void not reflected")
  await sql`create index recon_billing_refs_inactive_idx on recon_billing_refs (ref) where not active`.execute(db);
  await sql`
    create table gl_entry_refs (
      ref text collate "C" not null,
      entry_id bigint not null,
      account text not null,
      amount bigint not null,
      currency text not null,
      d date not null
    )`.execute(db);
  await sql`create index gl_entry_refs_entry_idx on gl_entry_refs (entry_id)`.execute(db);
  await sql`create table gl_accounts (account text primary key)`.execute(db);

  await sql`
    create function recon_billing_refs_add() returns trigger language plpgsql as $$
    begin
      insert into recon_billing_refs (ref, record_id, cls, kind, amount, currency, d, active)
      select r.ref, n.id, n.account_class, n.kind, n.amount, n.currency, n.occurred_on, n.active
      from new_rows n cross join lateral unnest(n.refs) as r(ref)
      where r.ref is not null;
      return null;
    end $$`.execute(db);
  await sql`
    create function recon_billing_refs_replace() returns trigger language plpgsql as $$
    begin
      delete from recon_billing_refs x using old_rows o where x.record_id = o.id;
      insert into recon_billing_refs (ref, record_id, cls, kind, amount, currency, d, active)
      select r.ref, n.id, n.account_class, n.kind, n.amount, n.currency, n.occurred_on, n.active
      from new_rows n cross join lateral unnest(n.refs) as r(ref)
      where r.ref is not null;
      return null;
    end $$`.execute(db);
  await sql`
    create function recon_billing_refs_remove() returns trigger language plpgsql as $$
    begin
      delete from recon_billing_refs x using old_rows o where x.record_id = o.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger recon_billing_refs_on_insert after insert on recon_billing_records
    referencing new table as new_rows for each statement execute function recon_billing_refs_add()`.execute(db);
  await sql`
    create trigger recon_billing_refs_on_update after update on recon_billing_records
    referencing old table as old_rows new table as new_rows for each statement execute function recon_billing_refs_replace()`.execute(db);
  await sql`
    create trigger recon_billing_refs_on_delete after delete on recon_billing_records
    referencing old table as old_rows for each statement execute function recon_billing_refs_remove()`.execute(db);

  await sql`
    create function gl_entry_refs_add() returns trigger language plpgsql as $$
    begin
      insert into gl_entry_refs (ref, entry_id, account, amount, currency, d)
      select r.ref, n.id, n.account, n.amount, n.currency, n.entry_date
      from new_rows n cross join lateral unnest(n.stripe_ids || n.invoice_numbers) as r(ref)
      where r.ref is not null;
      insert into gl_accounts (account) select distinct account from new_rows on conflict do nothing;
      return null;
    end $$`.execute(db);
  await sql`
    create function gl_entry_refs_replace() returns trigger language plpgsql as $$
    begin
      delete from gl_entry_refs x using old_rows o where x.entry_id = o.id;
      insert into gl_entry_refs (ref, entry_id, account, amount, currency, d)
      select r.ref, n.id, n.account, n.amount, n.currency, n.entry_date
      from new_rows n cross join lateral unnest(n.stripe_ids || n.invoice_numbers) as r(ref)
      where r.ref is not null;
      insert into gl_accounts (account) select distinct account from new_rows on conflict do nothing;
      return null;
    end $$`.execute(db);
  await sql`
    create function gl_entry_refs_remove() returns trigger language plpgsql as $$
    begin
      delete from gl_entry_refs x using old_rows o where x.entry_id = o.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger gl_entry_refs_on_insert after insert on gl_entries
    referencing new table as new_rows for each statement execute function gl_entry_refs_add()`.execute(db);
  await sql`
    create trigger gl_entry_refs_on_update after update on gl_entries
    referencing old table as old_rows new table as new_rows for each statement execute function gl_entry_refs_replace()`.execute(db);
  await sql`
    create trigger gl_entry_refs_on_delete after delete on gl_entries
    referencing old table as old_rows for each statement execute function gl_entry_refs_remove()`.execute(db);

  // TRUNCATE fires no row or DELETE triggers; the index empties with its table
  await sql`create function recon_billing_refs_truncate() returns trigger language plpgsql as $$ begin truncate recon_billing_refs; return null; end $$`.execute(db);
  await sql`create trigger recon_billing_refs_on_truncate after truncate on recon_billing_records for each statement execute function recon_billing_refs_truncate()`.execute(db);
  await sql`create function gl_entry_refs_truncate() returns trigger language plpgsql as $$ begin truncate gl_entry_refs, gl_accounts; return null; end $$`.execute(db);
  await sql`create trigger gl_entry_refs_on_truncate after truncate on gl_entries for each statement execute function gl_entry_refs_truncate()`.execute(db);

  // what is already there
  await sql`
    insert into recon_billing_refs (ref, record_id, cls, kind, amount, currency, d, active)
    select r.ref, b.id, b.account_class, b.kind, b.amount, b.currency, b.occurred_on, b.active
    from recon_billing_records b cross join lateral unnest(b.refs) as r(ref) where r.ref is not null`.execute(db);
  await sql`
    insert into gl_entry_refs (ref, entry_id, account, amount, currency, d)
    select r.ref, g.id, g.account, g.amount, g.currency, g.entry_date
    from gl_entries g cross join lateral unnest(g.stripe_ids || g.invoice_numbers) as r(ref) where r.ref is not null`.execute(db);
  await sql`insert into gl_accounts (account) select distinct account from gl_entries`.execute(db);

  for (const col of ['match_ids', 'billing_ids', 'gl_ids', 'variances']) {
    await sql`alter table recon_pair_batches alter column ${sql.raw(col)} set storage external`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const col of ['match_ids', 'billing_ids', 'gl_ids', 'variances']) {
    await sql`alter table recon_pair_batches alter column ${sql.raw(col)} set storage extended`.execute(db);
  }
  await sql`drop trigger if exists gl_entry_refs_on_truncate on gl_entries`.execute(db);
  await sql`drop trigger if exists recon_billing_refs_on_truncate on recon_billing_records`.execute(db);
  await sql`drop function if exists gl_entry_refs_truncate(), recon_billing_refs_truncate()`.execute(db);
  await sql`drop trigger if exists gl_entry_refs_on_insert on gl_entries`.execute(db);
  await sql`drop trigger if exists gl_entry_refs_on_update on gl_entries`.execute(db);
  await sql`drop trigger if exists gl_entry_refs_on_delete on gl_entries`.execute(db);
  await sql`drop trigger if exists recon_billing_refs_on_insert on recon_billing_records`.execute(db);
  await sql`drop trigger if exists recon_billing_refs_on_update on recon_billing_records`.execute(db);
  await sql`drop trigger if exists recon_billing_refs_on_delete on recon_billing_records`.execute(db);
  await sql`drop function if exists gl_entry_refs_add(), gl_entry_refs_replace(), gl_entry_refs_remove()`.execute(db);
  await sql`drop function if exists recon_billing_refs_add(), recon_billing_refs_replace(), recon_billing_refs_remove()`.execute(db);
  await sql`drop table if exists gl_accounts`.execute(db);
  await sql`drop table if exists gl_entry_refs`.execute(db);
  await sql`drop table if exists recon_billing_refs`.execute(db);
}
