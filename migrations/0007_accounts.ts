import { type Kysely, sql } from 'kysely';

/**
 * Account lookup by name (`/billing account acme`): a prefix search on the lower-cased name. The
 * pattern_ops operator class lets `lower(name) like 'acme%'` use the index whatever the database
 * collation is; an email lookup already has `stripe_customers_email_idx`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index stripe_customers_name_prefix_idx on stripe_customers (lower(name) text_pattern_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists stripe_customers_name_prefix_idx`.execute(db);
}
