import { type Kysely, sql } from 'kysely';
import { recordAudit } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { type Money, convertMinor, formatMoney, parseUserAmount } from '../money/index.js';
import type { Clock, Logger } from '../util/index.js';
import type { RequestRow } from './requests.js';
import type { ActionParams, CreditLedger, CreditLedgerEntry } from './types.js';

/**
 * The credit & adjustment ledger of each customer billops has credited:
 * - `opening`: the balance Stripe reported right before billops' first credit (from that credit's
 *   balance transaction), so the running balance starts where Stripe's did;
 * - `credit`: every credit applied through an approval, with reason, requester, approvers and
 *   Stripe's balance transaction;
 * - `invoice`: credit used up (or debit added) by an invoice finalized after the opening, from the
 *   invoice's starting and ending balance in billops' copy of Stripe.
 * Amounts are credit the customer holds (positive), the opposite sign of Stripe's customer balance.
 * When the running balance in the customer's currency differs from Stripe's balance, the difference
 * is an exception of kind `credit_balance_mismatch` (one per customer), resolved automatically when
 * the two agree again. Anything that changes the balance outside billops — a credit added in the
 * Dashboard, a credit note credited to the balance — shows up this way, on purpose.
 */

const LEDGER_ACTOR = { kind: 'system' as const, id: 'credit_ledger' };

interface StoredEntry {
  id: bigint;
  kind: 'opening' | 'credit';
  amount: bigint;
  currency: string;
  reason_code: string | null;
  note: string | null;
  request_id: bigint | null;
  requested_by: string | null;
  approved_by: string[];
  stripe_balance_transaction_id: string | null;
  occurred_at: Date;
}

/** Appends a credit (and, for the customer's first credit in a currency, the opening balance before it). */
export async function recordCredit(
  trx: Kysely<Database>,
  c: {
    row: RequestRow;
    params: Extract<ActionParams, { action: 'credit' }>;
    transactionId: string;
    /** Stripe's customer balance right after the credit. */
    endingBalance: bigint;
    stripeCurrency: string;
    at: Date;
  },
): Promise<void> {
  const approvers = await trx
    .selectFrom('approval_decisions')
    .select('user_id')
    .where('request_id', '=', c.row.id)
    .where('decision', '=', 'approve')
    .orderBy('decided_at')
    .execute();
  const currency = c.params.currency;
  // Stripe's balance before the credit was ending - (-amount); credit held is its opposite.
  const openingHeld = -(c.endingBalance + c.params.amount);
  await sql`
    insert into credit_ledger (customer_id, kind, amount, currency, occurred_at)
    values (${c.params.customerId}, 'opening', ${openingHeld}, ${currency}, ${c.at})
    on conflict (customer_id, currency) where kind = 'opening' do nothing`.execute(trx);
  await sql`
    insert into credit_ledger (customer_id, kind, amount, currency, reason_code, note, request_id, requested_by, approved_by,
      stripe_balance_transaction_id, stripe_ending_balance, occurred_at)
    values (${c.params.customerId}, 'credit', ${c.params.amount}, ${currency}, ${c.params.reasonCode}, ${c.params.note}, ${c.row.id},
      ${c.row.requested_by}, ${approvers.map((a) => a.user_id)}::text[], ${c.transactionId}, ${c.endingBalance}, ${c.at})
    on conflict (request_id) do nothing`.execute(trx);
}

interface LedgerOptions {
  config?: Config;
  /** Stripe's balance as just reported by Stripe itself, instead of billops' copy. */
  stripeBalance?: Money;
}

/** The ledger of one customer, its running balance, and whether it agrees with Stripe's balance. */
export async function creditLedger(db: Kysely<Database>, customerId: string, opts: LedgerOptions = {}): Promise<CreditLedger & { stale: boolean }> {
  const stored = (await sql<StoredEntry>`
    select id, kind, amount, currency, reason_code, note, request_id, requested_by, approved_by, stripe_balance_transaction_id, occurred_at
    from credit_ledger where customer_id = ${customerId} order by occurred_at, id`.execute(db)).rows;
  const labels = new Map((opts.config?.file.approvals.reason_codes ?? []).map((r) => [r.code, r.label]));
  const openings = new Map<string, Date>();
  for (const e of stored) if (e.kind === 'opening') openings.set(e.currency, e.occurred_at);

  type Pending = Omit<CreditLedgerEntry, 'balanceAfter'> & { order: number };
  const pending: Pending[] = stored.map((e) => ({
    kind: e.kind,
    at: e.occurred_at,
    amount: e.amount,
    currency: e.currency,
    reasonCode: e.reason_code,
    reasonLabel: e.reason_code ? (labels.get(e.reason_code) ?? e.reason_code) : null,
    note: e.note,
    requestId: e.request_id?.toString() ?? null,
    requestedBy: e.requested_by,
    approvedBy: e.approved_by ?? [],
    stripeId: e.stripe_balance_transaction_id,
    order: e.kind === 'opening' ? 0 : 1,
  }));
  if (openings.size > 0) {
    const invoices = (await sql<{ id: string; currency: string; starting_balance: bigint; ending_balance: bigint; finalized_at: Date }>`
      select id, upper(currency) as currency, starting_balance, ending_balance, finalized_at from stripe_invoices
      where customer_id = ${customerId} and deleted_at is null and status in ('open', 'paid', 'uncollectible')
        and finalized_at is not null and starting_balance is not null and ending_balance is not null
        and starting_balance <> ending_balance
      order by finalized_at, id`.execute(db)).rows;
    for (const inv of invoices) {
      const opened = openings.get(inv.currency);
      if (!opened || inv.finalized_at.getTime() <= opened.getTime()) continue;
      pending.push({
        kind: 'invoice',
        at: inv.finalized_at,
        amount: inv.starting_balance - inv.ending_balance,
        currency: inv.currency,
        reasonCode: null,
        reasonLabel: null,
        note: null,
        requestId: null,
        requestedBy: null,
        approvedBy: [],
        stripeId: inv.id,
        order: 2,
      });
    }
  }
  pending.sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order);
  const running = new Map<string, bigint>();
  const entries: CreditLedgerEntry[] = pending.map(({ order: _order, ...e }) => {
    const next = (running.get(e.currency) ?? 0n) + e.amount;
    running.set(e.currency, next);
    return { ...e, balanceAfter: next };
  });
  const balanceByCurrency = [...running.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, amount]) => ({ currency, amount }));

  const cus = await db.selectFrom('stripe_customers').select(['balance', 'currency', 'version_at']).where('id', '=', customerId).executeTakeFirst();
  let stripeBalance: Money | null = opts.stripeBalance ?? null;
  let stale = false;
  if (!stripeBalance && cus) {
    const currency = cus.currency?.toUpperCase() ?? balanceByCurrency[0]?.currency ?? null;
    stripeBalance = currency ? { amount: cus.balance, currency } : null;
    // billops' copy older than its own last credit: Stripe's webhook (or the backfill) has not caught up yet
    const lastCredit = stored.filter((e) => e.kind === 'credit').at(-1);
    stale = lastCredit !== undefined && cus.version_at.getTime() < lastCredit.occurred_at.getTime();
  }
  let mismatch = false;
  if (entries.length > 0 && stripeBalance && !stale) {
    const held = running.get(stripeBalance.currency) ?? 0n;
    mismatch = held !== -stripeBalance.amount || balanceByCurrency.some((b) => b.currency !== stripeBalance.currency && b.amount !== 0n);
  }
  return { entries, balanceByCurrency, stripeBalance, mismatch, stale };
}

function severityOf(config: Config, diff: Money): 'critical' | 'high' | 'medium' {
  const hv = parseUserAmount(config.file.thresholds.high_value, { allowZero: true });
  const org = config.file.org;
  const toRep = (m: Money): bigint | null =>
    m.currency === org.reporting_currency ? m.amount : org.fx_rates[m.currency] ? convertMinor(m.amount, m.currency, org.reporting_currency, org.fx_rates[m.currency] as string) : null;
  const abs = { amount: diff.amount < 0n ? -diff.amount : diff.amount, currency: diff.currency };
  const a = abs.currency === hv.currency ? abs.amount : toRep(abs);
  const h = abs.currency === hv.currency ? hv.amount : toRep(hv);
  if (a === null || h === null) return 'medium';
  if (a >= h) return 'critical';
  return a * 5n >= h ? 'high' : 'medium';
}

export type BalanceCheckOutcome = 'opened' | 'reopened' | 'updated' | 'auto_resolved' | 'unchanged' | 'stale';

/**
 * Compares one customer's ledger with Stripe's balance and opens, refreshes or auto-resolves its
 * `credit_balance_mismatch` exception. Run it inside the transaction that changed the ledger.
 */
export async function checkCustomerBalance(
  trx: Kysely<Database>,
  deps: { config: Config; clock: Clock },
  customerId: string,
  stripeBalance?: Money,
): Promise<BalanceCheckOutcome> {
  const now = deps.clock.now();
  const ledger = await creditLedger(trx, customerId, { config: deps.config, ...(stripeBalance ? { stripeBalance } : {}) });
  if (ledger.stale) return 'stale';
  const key = `credit_balance_mismatch:${customerId}`;
  const existing = (await sql<{ id: bigint; status: string; amount: bigint; currency: string }>`
    select id, status, amount, currency from exceptions where dedupe_key = ${key} for update`.execute(trx)).rows[0];
  const active = existing && ['open', 'assigned', 'snoozed', 'reopened'].includes(existing.status);
  const audit = (action: string, id: bigint, before: unknown, after: unknown) =>
    recordAudit(trx, { actor: LEDGER_ACTOR, action, entity: { type: 'exception', id: id.toString() }, before, after, source: 'system', context: { customer_id: customerId } }, { now: () => now });

  if (!ledger.mismatch || !ledger.stripeBalance) {
    if (!existing || !active) return 'unchanged';
    await sql`update exceptions set status = 'auto_resolved', resolved_at = ${now}, resolved_by = 'billops', updated_at = ${now}, version = version + 1
      where id = ${existing.id}`.execute(trx);
    await audit('exception.auto_resolved', existing.id, { status: existing.status }, { status: 'auto_resolved', kind: 'credit_balance_mismatch' });
    return 'auto_resolved';
  }
  const currency = ledger.stripeBalance.currency;
  const ledgerHeld = ledger.balanceByCurrency.find((b) => b.currency === currency)?.amount ?? 0n;
  const stripeHeld = -ledger.stripeBalance.amount;
  const diff = { amount: ledgerHeld - stripeHeld, currency };
  const fmt = (a: bigint) => formatMoney({ amount: a, currency });
  const details = stringifyDetails({
    ledger_credit: ledgerHeld.toString(),
    stripe_credit: stripeHeld.toString(),
    difference: diff.amount.toString(),
    currency,
    other_currencies: ledger.balanceByCurrency.filter((b) => b.currency !== currency && b.amount !== 0n).map((b) => ({ currency: b.currency, amount: b.amount.toString() })),
  });
  const summary = `billops' credit ledger says ${fmt(ledgerHeld)} of credit, Stripe's balance ${fmt(stripeHeld)}`;
  const severity = severityOf(deps.config, diff);
  const cus = await trx.selectFrom('stripe_customers').select(['name', 'email']).where('id', '=', customerId).executeTakeFirst();
  const name = cus?.name || cus?.email || null;
  if (!existing) {
    const row = await sql<{ id: bigint }>`
      insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_id, customer_name, stripe_id, summary, details, opened_at, updated_at)
      values (${key}, 'credit_balance_mismatch', 'open', ${severity}, ${diff.amount}, ${currency}, ${customerId}, ${name}, ${customerId}, ${summary},
        ${details}::jsonb, ${now}, ${now})
      returning id`.execute(trx);
    const id = row.rows[0]?.id as bigint;
    await audit('exception.opened', id, null, { status: 'open', kind: 'credit_balance_mismatch', amount: diff.amount.toString(), currency });
    return 'opened';
  }
  if (existing.status === 'resolved') return 'unchanged'; // a person looked at it and decided; it stays resolved
  const reopen = existing.status === 'auto_resolved';
  if (!reopen && existing.amount === diff.amount && existing.currency === currency) return 'unchanged';
  await sql`update exceptions set status = ${reopen ? 'reopened' : existing.status}, severity = ${severity}, amount = ${diff.amount}, currency = ${currency},
      customer_name = ${name}, summary = ${summary}, details = ${details}::jsonb, resolved_at = ${reopen ? null : sql`resolved_at`},
      resolved_by = ${reopen ? null : sql`resolved_by`}, updated_at = ${now}, version = version + 1
    where id = ${existing.id}`.execute(trx);
  if (reopen) {
    await audit('exception.reopened', existing.id, { status: 'auto_resolved' }, { status: 'reopened', kind: 'credit_balance_mismatch', amount: diff.amount.toString(), currency });
    return 'reopened';
  }
  return 'updated';
}

function stringifyDetails(v: Record<string, unknown>): string {
  return JSON.stringify(v);
}

export interface BalanceCheckSummary {
  checked: number;
  mismatched: number;
  opened: number;
  reopened: number;
  autoResolved: number;
  /** Customers whose copy in billops is older than their last credit (checked once Stripe's update arrives). */
  waiting: number;
}

/**
 * Checks every customer billops has credited (and every open mismatch) against billops' copy of
 * Stripe's balances. The reconcile job runs it after matching; safe to run at any time.
 */
export async function checkCreditBalances(deps: { db: Kysely<Database>; config: Config; clock: Clock; logger?: Logger }): Promise<BalanceCheckSummary> {
  const customers = (await sql<{ customer_id: string }>`
    select customer_id from credit_ledger
    union
    select customer_id from exceptions where kind = 'credit_balance_mismatch' and customer_id is not null
    order by 1`.execute(deps.db)).rows.map((r) => r.customer_id);
  const s: BalanceCheckSummary = { checked: 0, mismatched: 0, opened: 0, reopened: 0, autoResolved: 0, waiting: 0 };
  for (const id of customers) {
    const outcome = await deps.db.transaction().execute((trx) => checkCustomerBalance(trx, deps, id));
    s.checked++;
    if (outcome === 'stale') s.waiting++;
    if (outcome === 'opened') s.opened++;
    if (outcome === 'reopened') s.reopened++;
    if (outcome === 'auto_resolved') s.autoResolved++;
  }
  s.mismatched = Number(
    (await sql<{ n: bigint }>`select count(*) as n from exceptions where kind = 'credit_balance_mismatch' and status in ('open', 'assigned', 'snoozed', 'reopened')`.execute(deps.db))
      .rows[0]?.n ?? 0n,
  );
  return s;
}
