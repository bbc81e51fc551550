import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/index.js';

/** A billing record as the matching engine sees it, for tests that start after ingest. */
export interface BillingRow {
  key: string;
  kind: string;
  cls?: 'receivable' | 'clearing';
  refs: string[];
  amount: bigint;
  currency: string;
  date: string;
  customerId?: string | null;
  customerName?: string | null;
  settlementAmount?: bigint | null;
  settlementCurrency?: string | null;
  groupKey?: string | null;
  status?: string;
  active?: boolean;
}

export interface GlRow {
  key: string;
  account: string;
  amount: bigint;
  currency: string;
  date: string;
  stripeIds?: string[];
  invoiceNumbers?: string[];
  customerName?: string | null;
  transactionType?: string | null;
  memo?: string | null;
  line?: number;
}

const CLASS_OF: Record<string, 'receivable' | 'clearing'> = {
  invoice: 'receivable',
  payment: 'receivable',
  credit_note: 'receivable',
};

export async function insertBillingRecords(db: Kysely<Database>, rows: readonly BillingRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map(
    (r) => sql`(${r.key}, ${r.kind}, ${r.refs[0] ?? r.key}, ${r.cls ?? CLASS_OF[r.kind] ?? 'clearing'}, ${r.refs}::text[],
      ${r.customerId ?? null}, ${r.customerName ?? null}, ${r.amount}::bigint, ${r.currency}, ${r.settlementAmount ?? null}::bigint,
      ${r.settlementCurrency ?? null}, ${r.date}::date, ${r.groupKey ?? null}, ${r.status ?? null}, ${r.active ?? true},
      now(), now())`,
  );
  await sql`
    insert into recon_billing_records (record_key, kind, stripe_id, account_class, refs, customer_id, customer_name, amount, currency,
      settlement_amount, settlement_currency, occurred_on, group_key, status, active, source_changed_at, refreshed_at)
    values ${sql.join(values)}`.execute(db);
}

export async function insertGlEntries(db: Kysely<Database>, rows: readonly GlRow[], file = 'test.csv'): Promise<void> {
  if (rows.length === 0) return;
  const imp = await sql<{ id: bigint }>`
    insert into gl_imports (source_system, file_name, sha256, size_bytes, rows_read, entries_new, entries_existing, accounts, account_count,
      totals, imported_by, imported_via, imported_at, duration_ms)
    values ('generic', ${file}, md5(random()::text) || md5(random()::text), 0, ${rows.length}, ${rows.length}, 0, '{}', 0, '{}', 'test', 'cli', now(), 0)
    returning id`.execute(db);
  const importId = imp.rows[0]?.id;
  const values = rows.map(
    (r, i) => sql`(${importId}, 'generic', ${file}, ${r.line ?? i + 2}, ${r.key}, ${r.date}::date, ${r.account}, ${r.amount}::bigint,
      ${r.currency}, null, ${r.memo ?? null}, ${r.customerName ?? null}, null, ${r.transactionType ?? null}, null,
      ${r.stripeIds ?? []}::text[], ${r.invoiceNumbers ?? []}::text[], now())`,
  );
  await sql`
    insert into gl_entries (import_id, source_system, source_file, source_line, line_key, entry_date, account, amount, currency,
      reference, memo, customer_name, external_id, transaction_type, accounting_period, stripe_ids, invoice_numbers, created_at)
    values ${sql.join(values)}`.execute(db);
}

export interface Outcome {
  outcome: 'matched' | 'billing_only' | 'gl_only';
  rule: string | null;
  varianceKind: string | null;
  variance: bigint | null;
  /** Keys of the other side's records in the same match. */
  with: string[];
}

/** Every record's outcome, keyed `b:<record_key>` / `g:<line_key>`, for assertions. */
export async function outcomes(db: Kysely<Database>): Promise<Map<string, Outcome>> {
  const rows = await sql<{ k: string; rule: string | null; vk: string | null; v: bigint | null; others: string[] | null; matched: boolean }>`
    select 'b:' || b.record_key as k, m.rule_name as rule, m.variance_kind as vk, m.variance_amount as v,
      (select array_agg('g:' || g.line_key order by g.line_key) from recon_match_members x join gl_entries g on g.id = x.record_id
        where x.match_id = m.id and x.side = 'gl') as others,
      m.id is not null and m.rule_kind <> 'expected_gl_only' as matched
    from recon_billing_records b
    left join recon_match_members mm on mm.side = 'billing' and mm.record_id = b.id
    left join recon_matches m on m.id = mm.match_id
    where b.active
    union all
    select 'g:' || g.line_key, m.rule_name, m.variance_kind, m.variance_amount,
      (select array_agg('b:' || b.record_key order by b.record_key) from recon_match_members x join recon_billing_records b on b.id = x.record_id
        where x.match_id = m.id and x.side = 'billing'),
      m.id is not null and m.rule_kind <> 'expected_gl_only'
    from gl_entries g
    left join recon_match_members mm on mm.side = 'gl' and mm.record_id = g.id
    left join recon_matches m on m.id = mm.match_id`.execute(db);
  const out = new Map<string, Outcome>();
  for (const r of rows.rows) {
    out.set(r.k, {
      outcome: r.matched ? 'matched' : r.k.startsWith('b:') ? 'billing_only' : 'gl_only',
      rule: r.rule,
      varianceKind: r.vk,
      variance: r.v,
      with: r.others ?? [],
    });
  }
  return out;
}
