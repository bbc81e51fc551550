import { type Kysely, sql } from 'kysely';

/**
 * General-ledger imports. One row per imported file (`gl_imports`, unique on the file's sha256 so the
 * same file twice is recognised) and one per posting (`gl_entries`), each keeping the file and the
 * physical line it came from. `line_key` is the posting's stable identity across overlapping exports:
 * re-importing a posting that is already there inserts nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table gl_imports (
      id bigint generated always as identity primary key,
      source_system text not null check (source_system in ('quickbooks', 'xero', 'netsuite', 'generic')),
      mapping text,
      file_name text not null,
      sha256 text not null unique,
      size_bytes bigint not null,
      rows_read integer not null,
      entries_new integer not null,
      entries_existing integer not null,
      accounts text[] not null,
      account_count integer not null,
      date_from date,
      date_to date,
      totals jsonb not null,
      imported_by text not null,
      imported_via text not null check (imported_via in ('cli', 'slack', 'demo', 'api')),
      imported_at timestamptz not null,
      duration_ms integer not null
    )`.execute(db);

  await sql`
    create table gl_entries (
      id bigint generated always as identity primary key,
      import_id bigint not null references gl_imports (id),
      source_system text not null,
      source_file text not null,
      source_line integer not null,
      line_key text collate "C" not null unique,
      entry_date date not null,
      account text not null,
      amount bigint not null,
      currency text not null,
      reference text,
      memo text,
      customer_name text,
      external_id text,
      transaction_type text,
      accounting_period text,
      stripe_ids text[] not null default '{}',
      invoice_numbers text[] not null default '{}',
      created_at timestamptz not null
    )`.execute(db);
  // Every index is paid for on each of a million inserted rows, so only what queries use: line_key
  // (the conflict target; "C" collation compares bytes, and hex keys sort the same either way) and the
  // posting date for date windows — BRIN, since entries arrive roughly in date order: a few pages
  // instead of a B-tree entry per row.
  await sql`create index gl_entries_date_idx on gl_entries using brin (entry_date)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists gl_entries`.execute(db);
  await sql`drop table if exists gl_imports`.execute(db);
}
