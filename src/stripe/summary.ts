import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/index.js';
import { formatMoney } from '../money/index.js';

/** Amounts in several currencies, for one line: "$1,234.00 + €179.00 + ¥50,000". */
function money(parts: ReadonlyArray<{ currency: string; amount: bigint }>): string {
  const nonZero = parts.filter((p) => p.amount !== 0n);
  if (nonZero.length === 0) return formatMoney({ amount: 0n, currency: parts[0]?.currency ?? 'USD' });
  return nonZero
    .slice()
    .sort((a, b) => a.currency.localeCompare(b.currency))
    .map((p) => formatMoney({ amount: p.amount, currency: p.currency }))
    .join(' + ');
}

interface Group {
  key: string;
  currency: string;
  n: bigint;
  a: bigint;
  b: bigint;
  c: bigint;
}

/** `key → { count, per-currency sums }` from rows grouped by (key, currency). */
function byKey(rows: readonly Group[]): Map<string, { n: bigint; a: Array<{ currency: string; amount: bigint }>; b: Array<{ currency: string; amount: bigint }>; c: Array<{ currency: string; amount: bigint }> }> {
  const out = new Map<string, { n: bigint; a: Array<{ currency: string; amount: bigint }>; b: Array<{ currency: string; amount: bigint }>; c: Array<{ currency: string; amount: bigint }> }>();
  for (const r of rows) {
    const g = out.get(r.key) ?? { n: 0n, a: [], b: [], c: [] };
    g.n += r.n;
    g.a.push({ currency: r.currency, amount: r.a });
    g.b.push({ currency: r.currency, amount: r.b });
    g.c.push({ currency: r.currency, amount: r.c });
    out.set(r.key, g);
  }
  return out;
}

async function groups(db: Kysely<Database>, query: ReturnType<typeof sql<Group>>): Promise<Group[]> {
  return (await query.execute(db)).rows;
}

const row = (label: string, count: bigint | number, detail: string) => `  ${label.padEnd(22)} ${String(count).padStart(5)}   ${detail}`;

/**
 * What billops holds from Stripe, one line per table: counts and money per status and currency
 * (an open invoice is past due when a payment attempt failed or its due date is before `asOf`).
 * Shown by the demo and by `billops stripe status`.
 */
export async function describeStripeData(db: Kysely<Database>, asOf: Date): Promise<string[]> {
  const lines: string[] = [];
  const total = (m: ReturnType<typeof byKey>) => [...m.values()].reduce((s, g) => s + g.n, 0n);

  const events = byKey(await groups(db, sql<Group>`select status as key, '' as currency, count(*)::int8 as n, 0::int8 as a, 0::int8 as b, 0::int8 as c from stripe_events group by status order by status`));
  lines.push(row('webhook events', total(events), [...events].map(([k, g]) => `${k} ${g.n}`).join(' · ') || 'none'));

  const customers = await groups(db, sql<Group>`select coalesce(upper(currency), '—') as key, '' as currency, count(*)::int8 as n, 0::int8 as a, 0::int8 as b, 0::int8 as c from stripe_customers group by 1 order by 3 desc, 1`);
  lines.push(row('customers', customers.reduce((s, g) => s + g.n, 0n), customers.map((g) => `${g.key} ${g.n}`).join(' · ') || 'none'));

  const subs = byKey(await groups(db, sql<Group>`select status as key, currency, count(*)::int8 as n, 0::int8 as a, 0::int8 as b, 0::int8 as c from stripe_subscriptions group by status, currency order by status`));
  lines.push(row('subscriptions', total(subs), [...subs].map(([k, g]) => `${k} ${g.n}`).join(' · ') || 'none'));

  const invoices = byKey(
    await groups(
      db,
      sql<Group>`select coalesce(status, 'draft') as key, currency, count(*)::int8 as n, sum(total)::int8 as a, sum(amount_remaining)::int8 as b, count(*) filter (where amount_remaining > 0 and (overdue_at is not null or due_date < ${asOf} or attempt_count > 0))::int8 as c
        from stripe_invoices group by 1, currency order by 1`,
    ),
  );
  lines.push(
    row(
      'invoices',
      total(invoices),
      [...invoices]
        .map(([k, g]) => {
          const pastDue = g.c.reduce((s, x) => s + x.amount, 0n);
          return k === 'open' ? `${k} ${g.n}: ${money(g.b)} due, ${pastDue} past due` : `${k} ${g.n}: ${money(g.a)}`;
        })
        .join(' · ') || 'none',
    ),
  );

  const invoiceLines = (await sql<{ n: bigint; p: bigint }>`select count(*)::int8 as n, count(*) filter (where proration)::int8 as p from stripe_invoice_lines`.execute(db)).rows[0];
  lines.push(row('invoice lines', invoiceLines?.n ?? 0n, `${invoiceLines?.p ?? 0n} proration line${invoiceLines?.p === 1n ? '' : 's'}, each with its service period`));

  const charges = byKey(await groups(db, sql<Group>`select status as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, sum(amount_refunded)::int8 as b, count(*) filter (where disputed)::int8 as c from stripe_charges group by status, currency order by status desc`));
  lines.push(row('charges', total(charges), [...charges].map(([k, g]) => `${k} ${g.n}: ${money(g.a)}`).join(' · ') || 'none'));

  const refunds = byKey(await groups(db, sql<Group>`select coalesce(status, '—') as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, 0::int8 as b, 0::int8 as c from stripe_refunds group by 1, currency`));
  lines.push(row('refunds', total(refunds), [...refunds].map(([k, g]) => `${k} ${g.n}: ${money(g.a)}`).join(' · ') || 'none'));

  const disputes = byKey(await groups(db, sql<Group>`select status as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, 0::int8 as b, 0::int8 as c from stripe_disputes group by status, currency`));
  lines.push(row('disputes', total(disputes), [...disputes].map(([k, g]) => `${k} ${g.n}: ${money(g.a)}`).join(' · ') || 'none'));

  const notes = byKey(await groups(db, sql<Group>`select status as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, 0::int8 as b, 0::int8 as c from stripe_credit_notes group by status, currency`));
  lines.push(row('credit notes', total(notes), [...notes].map(([k, g]) => `${k} ${g.n}: ${money(g.a)}`).join(' · ') || 'none'));

  const txns = byKey(
    await groups(
      db,
      sql<Group>`select reporting_category as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, sum(fee)::int8 as b, sum(net)::int8 as c from stripe_balance_transactions group by reporting_category, currency order by 1`,
    ),
  );
  const fx = (await sql<{ n: bigint; p: bigint }>`select count(*) filter (where exchange_rate is not null)::int8 as n, count(payout_id)::int8 as p from stripe_balance_transactions`.execute(db)).rows[0];
  lines.push(row('balance transactions', total(txns), `${fx?.n ?? 0n} with an exchange rate, ${fx?.p ?? 0n} assigned to a payout`));
  for (const [k, g] of txns) lines.push(`  ${''.padEnd(22)}         ${k}: ${g.n} × gross ${money(g.a)}, fees ${money(g.b)}, net ${money(g.c)}`);

  const payouts = byKey(await groups(db, sql<Group>`select status as key, currency, count(*)::int8 as n, sum(amount)::int8 as a, 0::int8 as b, 0::int8 as c from stripe_payouts group by status, currency`));
  lines.push(row('payouts', total(payouts), [...payouts].map(([k, g]) => `${k} ${g.n}: ${money(g.a)}`).join(' · ') || 'none'));
  return lines;
}
