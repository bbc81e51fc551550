import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { UserError } from '../util/index.js';

/** How a lookup was read: a Stripe customer id, an email address, or (part of) a name. */
export type AccountSearchKind = 'id' | 'email' | 'name';

export interface AccountMatch {
  id: string;
  name: string | null;
  email: string | null;
  currency: string | null;
  delinquent: boolean;
  created: Date;
  /** Deleted in Stripe; still shown, since its invoices and disputes may still need work. */
  deleted: boolean;
}

export interface AccountSearch {
  /** The lookup as given (trimmed). */
  query: string;
  searchedBy: AccountSearchKind;
  /** For names: whether the matches start with the text, or only contain it somewhere. */
  nameMatch: 'prefix' | 'substring' | null;
  /** Up to `limit` matches, best first. */
  matches: AccountMatch[];
  /** Every match there is (more than `matches` when the list was cut). */
  total: number;
}

export const DEFAULT_MATCH_LIMIT = 10;
export const MAX_QUERY_LENGTH = 200;

const CUSTOMER_ID = /^cus_[A-Za-z0-9_]+$/;

interface CustomerRow {
  id: string;
  name: string | null;
  email: string | null;
  currency: string | null;
  delinquent: boolean | null;
  created: Date;
  deleted_at: Date | null;
}

function toMatch(r: CustomerRow): AccountMatch {
  return {
    id: r.id,
    name: r.name,
    email: r.email,
    currency: r.currency,
    delinquent: r.delinquent === true,
    created: r.created,
    deleted: r.deleted_at !== null,
  };
}

/** `%`, `_` and `\` typed by a person are literal characters, not LIKE wildcards. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** What a lookup searches: `cus_…` is an id, anything with an `@` an email, the rest a name. */
export function searchKind(query: string): AccountSearchKind {
  if (CUSTOMER_ID.test(query)) return 'id';
  if (query.includes('@')) return 'email';
  return 'name';
}

async function select(db: Kysely<Database>, where: RawBuilder<unknown>, order: RawBuilder<unknown>, limit: number): Promise<{ rows: CustomerRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    sql<CustomerRow>`
      select id, name, email, currency, delinquent, created, deleted_at from stripe_customers
      where ${where} order by (deleted_at is not null), ${order} limit ${limit}`.execute(db),
    sql<{ n: bigint }>`select count(*) as n from stripe_customers where ${where}`.execute(db),
  ]);
  return { rows: rows.rows, total: Number(count.rows[0]?.n ?? 0n) };
}

/**
 * Find the customers a person means by what they typed: a Stripe customer id (exact), an email
 * (exact, any case), or a name (any case; names that start with the text, and only when none does,
 * names that contain it). Several matches are returned as they are — the caller asks which one
 * rather than guessing.
 *
 * The id and email lookups use the primary key and `lower(email)` index; the name prefix uses the
 * `lower(name) text_pattern_ops` index (migration 0007). The substring search scans, and only runs
 * when no name starts with the text.
 */
export async function findAccounts(db: Kysely<Database>, query: string, opts: { limit?: number } = {}): Promise<AccountSearch> {
  const q = query.trim();
  if (q === '') throw new UserError('Give a Stripe customer id, an email or a name to look up.', { field: 'query' });
  if (q.length > MAX_QUERY_LENGTH) throw new UserError(`That lookup is ${q.length} characters long; ${MAX_QUERY_LENGTH} is the most.`, { field: 'query' });
  const limit = opts.limit ?? DEFAULT_MATCH_LIMIT;
  const searchedBy = searchKind(q);

  if (searchedBy === 'id') {
    const r = await select(db, sql`id = ${q}`, sql`id`, limit);
    return { query: q, searchedBy, nameMatch: null, matches: r.rows.map(toMatch), total: r.total };
  }
  if (searchedBy === 'email') {
    const r = await select(db, sql`lower(email) = lower(${q})`, sql`created desc, id`, limit);
    return { query: q, searchedBy, nameMatch: null, matches: r.rows.map(toMatch), total: r.total };
  }
  const lowered = q.toLowerCase();
  const prefix = await select(db, sql`lower(name) like ${`${likeLiteral(lowered)}%`} escape '\\'`, sql`lower(name) collate "C", id`, limit);
  if (prefix.total > 0) return { query: q, searchedBy, nameMatch: 'prefix', matches: prefix.rows.map(toMatch), total: prefix.total };
  const inside = await select(db, sql`lower(name) like ${`%${likeLiteral(lowered)}%`} escape '\\'`, sql`lower(name) collate "C", id`, limit);
  return { query: q, searchedBy, nameMatch: 'substring', matches: inside.rows.map(toMatch), total: inside.total };
}
