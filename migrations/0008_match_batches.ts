import { type Kysely, sql } from 'kysely';

/**
 * One-to-one matches stored in batches.
 *
 * A month's reconciliation makes about one one-to-one match per record — a million rows, each with
 * its own heap tuple, index entries and foreign-key check, which cost several times the matching
 * itself. One-to-one matches are now written as batches: one row holds up to a few thousand pairs as
 * parallel arrays (match id, billing record, GL entry, variance). Matches with groups (aggregate,
 * expected) stay one row each in `recon_match_groups` (the former `recon_matches`).
 *
 * Every match keeps its own id, drawn from the same sequence, so readers see no difference: the view
 * `recon_matches` lists one row per match as before, and `recon_match_members` one row per
 * (side, record, match).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`drop view recon_match_members`.execute(db);
  await sql`alter table recon_matches rename to recon_match_groups`.execute(db);
  await sql`alter index recon_matches_run_idx rename to recon_match_groups_run_idx`.execute(db);

  await sql`
    create table recon_pair_batches (
      id bigint generated always as identity primary key,
      -- no foreign key: checked per row it costs more than writing the batch; the engine writes
      -- batches only inside the run's own transaction, after the run row
      run_id bigint not null,
      rule_name text not null,
      rule_kind text not null,
      variance_kind text not null,
      variance_currency text,
      -- parallel arrays, same length: pair i is match_ids[i] = (billing_ids[i], gl_ids[i]) with variances[i]
      match_ids bigint[] not null,
      billing_ids bigint[] not null,
      gl_ids bigint[] not null,
      variances bigint[] not null,
      created_at timestamptz not null,
      check (cardinality(match_ids) = cardinality(billing_ids) and cardinality(match_ids) = cardinality(gl_ids)
        and cardinality(match_ids) = cardinality(variances) and cardinality(match_ids) > 0)
    )`.execute(db);
  await sql`create index recon_pair_batches_run_idx on recon_pair_batches (run_id)`.execute(db);

  await sql`
    create view recon_matches as
    select id, run_id, rule_name, rule_kind, variance_kind, variance_amount, variance_currency,
      billing_ids, gl_ids, billing_count, gl_count, created_at
    from recon_match_groups
    union all
    select u.id, p.run_id, p.rule_name, p.rule_kind, p.variance_kind, u.variance, p.variance_currency,
      array[u.bid], array[u.gid], 1, 1, p.created_at
    from recon_pair_batches p cross join lateral unnest(p.match_ids, p.billing_ids, p.gl_ids, p.variances) as u(id, bid, gid, variance)`.execute(db);

  await sql`
    create view recon_match_members as
    select 'billing'::text as side, unnest(billing_ids) as record_id, id as match_id from recon_match_groups
    union all
    select 'gl'::text, unnest(gl_ids), id from recon_match_groups
    union all
    select 'billing'::text, u.bid, u.id from recon_pair_batches p cross join lateral unnest(p.match_ids, p.billing_ids) as u(id, bid)
    union all
    select 'gl'::text, u.gid, u.id from recon_pair_batches p cross join lateral unnest(p.match_ids, p.gl_ids) as u(id, gid)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop view if exists recon_match_members`.execute(db);
  await sql`drop view if exists recon_matches`.execute(db);
  await sql`drop table if exists recon_pair_batches`.execute(db);
  await sql`alter table recon_match_groups rename to recon_matches`.execute(db);
  await sql`alter index recon_match_groups_run_idx rename to recon_matches_run_idx`.execute(db);
  await sql`
    create view recon_match_members as
    select 'billing'::text as side, unnest(billing_ids) as record_id, id as match_id from recon_matches
    union all
    select 'gl'::text, unnest(gl_ids), id from recon_matches`.execute(db);
}
