import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/db/index.js';
import { insertBillingRecords, insertGlEntries } from '../support/recon.js';

/**
 * Exceptions for the Slack queue and Home tab tests, inserted as a reconciliation leaves them
 * (with the billing record and GL line they point at), without running one.
 */
export interface QueueItem {
  kind: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  amount: bigint;
  currency?: string;
  customerId?: string | null;
  customerName?: string | null;
  stripeId?: string | null;
  reference?: string | null;
  /** A GL line this exception points at: `file` and `line`. */
  gl?: { file: string; line: number } | undefined;
  status?: 'open' | 'assigned' | 'snoozed' | 'resolved' | 'reopened';
  assignee?: string | null;
  snoozedUntil?: Date | null;
  openedAt: Date;
  summary?: string;
}

let seq = 0;

export async function clearQueue(db: Kysely<Database>): Promise<void> {
  // cascade: whatever holds matches (they reference their run) goes with the runs
  await sql`truncate reconciliation_runs, exceptions, recon_billing_records, gl_entries, gl_imports cascade`.execute(db);
}

export async function addException(db: Kysely<Database>, q: QueueItem): Promise<bigint> {
  seq += 1;
  const currency = q.currency ?? 'USD';
  let billingId: bigint | null = null;
  if (q.stripeId) {
    const key = `charge:${q.stripeId}`;
    await insertBillingRecords(db, [
      { key, kind: 'charge', refs: [q.stripeId], amount: q.amount, currency, date: '2026-10-30', customerId: q.customerId ?? null, customerName: q.customerName ?? null },
    ]);
    billingId = (await sql<{ id: bigint }>`select id from recon_billing_records where record_key = ${key}`.execute(db)).rows[0]?.id ?? null;
  }
  let glId: bigint | null = null;
  if (q.gl) {
    const key = `gl-${process.pid}-${seq}`;
    await insertGlEntries(db, [{ key, account: 'Stripe Clearing', amount: q.amount, currency, date: '2026-10-30', line: q.gl.line }], q.gl.file);
    glId = (await sql<{ id: bigint }>`select id from gl_entries where line_key = ${key}`.execute(db)).rows[0]?.id ?? null;
  }
  const res = await sql<{ id: bigint }>`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_id, customer_name, billing_record_id, gl_entry_id,
      stripe_id, reference, summary, assignee, snoozed_until, opened_at, updated_at)
    values (${`ui-test:${process.pid}:${seq}`}, ${q.kind}, ${q.status ?? (q.assignee ? 'assigned' : 'open')}, ${q.severity}, ${q.amount}::bigint,
      ${currency}, ${q.customerId ?? null}, ${q.customerName ?? null}, ${billingId}::bigint, ${glId}::bigint, ${q.stripeId ?? null},
      ${q.reference ?? null}, ${q.summary ?? 'Stripe has it, the GL does not'}, ${q.assignee ?? null}, ${q.snoozedUntil ?? null}::timestamptz,
      ${q.openedAt}::timestamptz, ${q.openedAt}::timestamptz)
    returning id`.execute(db);
  const id = res.rows[0]?.id;
  if (id === undefined) throw new Error('exception not inserted');
  return id;
}

/** `n` small open exceptions of one kind (for paging and caps), opened a day before `now`. */
export async function addMany(db: Kysely<Database>, n: number, now: Date, opts: { kind?: string; assignee?: string | null } = {}): Promise<void> {
  seq += 1;
  await sql`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_name, summary, assignee, opened_at, updated_at)
    select ${`ui-bulk:${process.pid}:${seq}:`} || i, ${opts.kind ?? 'duplicate_in_gl'}, ${opts.assignee ? 'assigned' : 'open'}, 'low',
      1000 + i, 'USD', 'Bulk Customer ' || i, 'Posted twice in the GL', ${opts.assignee ?? null},
      ${new Date(now.getTime() - 86_400_000)}::timestamptz, ${new Date(now.getTime() - 86_400_000)}::timestamptz
    from generate_series(1, ${n}::int) as i`.execute(db);
}

interface AnyBlock {
  type: string;
  block_id?: string;
  text?: { text?: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ type?: string; text?: string | { text?: string }; action_id?: string; value?: string }>;
  element?: Record<string, unknown>;
  accessory?: unknown;
}

/** Everything a person reads in some blocks, one block a line. */
export function shownText(blocks: unknown): string {
  return ((blocks ?? []) as AnyBlock[])
    .map((b) =>
      [
        b.text?.text ?? '',
        ...(b.fields ?? []).map((f) => f.text),
        ...(b.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : (e.text?.text ?? ''))),
      ]
        .filter(Boolean)
        .join('\n'),
    )
    .join('\n');
}

export interface ShownButton {
  blockId: string;
  actionId: string;
  text: string;
  value: string;
}

/** Every button in some blocks, with the block it sits in. */
export function buttons(blocks: unknown): ShownButton[] {
  return ((blocks ?? []) as AnyBlock[]).flatMap((b) =>
    b.type !== 'actions'
      ? []
      : (b.elements ?? [])
          .filter((e) => e.type === 'button')
          .map((e) => ({
            blockId: b.block_id ?? '',
            actionId: e.action_id ?? '',
            text: typeof e.text === 'string' ? e.text : (e.text?.text ?? ''),
            value: e.value ?? '',
          })),
  );
}

export function button(blocks: unknown, text: string, value?: string): ShownButton {
  const found = buttons(blocks).find((b) => b.text === text && (value === undefined || b.value === value));
  if (!found) throw new Error(`no "${text}" button${value ? ` for ${value}` : ''} in ${JSON.stringify(buttons(blocks))}`);
  return found;
}
