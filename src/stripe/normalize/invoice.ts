import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/index.js';
import {
  type Normalizer,
  type Row,
  big,
  currency,
  jsonText,
  metadata,
  nullableInt,
  nullableString,
  ref,
  refId,
  time,
  unixTime,
} from './common.js';

const prorationDetails = z
  .looseObject({
    proration: z.boolean().optional(),
    subscription: ref,
    subscription_item: nullableString,
    invoice_item: nullableString,
  })
  .nullable()
  .optional();

const lineSchema = z.looseObject({
  id: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  description: nullableString,
  quantity: nullableInt,
  period: z.looseObject({ start: unixTime, end: unixTime }).nullable().optional(),
  discount_amounts: z.array(z.looseObject({ amount: z.number().int() })).nullable().optional(),
  // API 2025-03-31 and later: where the line comes from and what it prices.
  parent: z
    .looseObject({
      type: z.string(),
      subscription_item_details: prorationDetails,
      invoice_item_details: prorationDetails,
    })
    .nullable()
    .optional(),
  pricing: z
    .looseObject({ price_details: z.looseObject({ price: ref, product: ref }).nullable().optional() })
    .nullable()
    .optional(),
  // Earlier API versions.
  type: z.string().optional(),
  proration: z.boolean().optional(),
  price: z.looseObject({ id: z.string(), product: ref }).nullable().optional(),
  subscription: ref,
  subscription_item: ref,
  invoice_item: ref,
});
type LineObject = z.infer<typeof lineSchema>;

const invoiceSchema = z.looseObject({
  id: z.string(),
  object: z.literal('invoice'),
  number: nullableString,
  customer: ref,
  status: nullableString,
  currency: z.string(),
  amount_due: z.number().int(),
  amount_paid: z.number().int(),
  amount_remaining: z.number().int(),
  subtotal: z.number().int(),
  total: z.number().int(),
  total_taxes: z.array(z.looseObject({ amount: z.number().int() })).nullable().optional(),
  tax: nullableInt,
  starting_balance: nullableInt,
  ending_balance: nullableInt,
  pre_payment_credit_notes_amount: nullableInt,
  post_payment_credit_notes_amount: nullableInt,
  collection_method: nullableString,
  billing_reason: nullableString,
  due_date: unixTime,
  attempt_count: z.number().int(),
  attempted: z.boolean(),
  next_payment_attempt: unixTime,
  period_start: unixTime,
  period_end: unixTime,
  status_transitions: z
    .looseObject({ finalized_at: unixTime, paid_at: unixTime, voided_at: unixTime, marked_uncollectible_at: unixTime })
    .nullable()
    .optional(),
  customer_email: nullableString,
  customer_name: nullableString,
  discounts: z.array(ref).nullable().optional(),
  hosted_invoice_url: nullableString,
  parent: z
    .looseObject({ subscription_details: z.looseObject({ subscription: ref }).nullable().optional() })
    .nullable()
    .optional(),
  /** Before API 2025-03-31. */
  subscription: ref,
  lines: z.looseObject({ data: z.array(lineSchema), has_more: z.boolean() }),
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
  /** Set by billops for `invoice.deleted` (a draft that was deleted). */
  deleted: z.boolean().optional(),
});
export type StripeInvoiceObject = z.infer<typeof invoiceSchema>;

/** Status order for same-second ties: a draft is finalized, then paid, voided or written off. */
const STATUS_ORDER: Record<string, bigint> = { draft: 0n, open: 1n, uncollectible: 2n, paid: 3n, void: 3n };

function lineRow(invoiceId: string, l: LineObject): Row {
  const details = l.parent?.subscription_item_details ?? l.parent?.invoice_item_details ?? null;
  const bySubscription = l.parent ? l.parent.type === 'subscription_item_details' : l.type === 'subscription';
  const priceId = refId(l.pricing?.price_details?.price) ?? l.price?.id ?? null;
  const productId = refId(l.pricing?.price_details?.product) ?? refId(l.price?.product) ?? null;
  return {
    invoice_id: invoiceId,
    id: l.id,
    line_type: bySubscription ? 'subscription' : 'invoiceitem',
    amount: BigInt(l.amount),
    currency: currency(l.currency),
    description: l.description ?? null,
    quantity: big(l.quantity),
    period_start: time(l.period?.start),
    period_end: time(l.period?.end),
    proration: details?.proration ?? l.proration ?? false,
    price_id: priceId,
    product_id: productId,
    subscription_id: refId(details?.subscription) ?? refId(l.subscription),
    subscription_item_id: details?.subscription_item ?? refId(l.subscription_item),
    invoice_item_id: details?.invoice_item ?? refId(l.invoice_item),
    discount_amount: (l.discount_amounts ?? []).reduce((s, d) => s + BigInt(d.amount), 0n),
    raw: jsonText(l),
  };
}

const LINE_COLUMNS = [
  'invoice_id',
  'id',
  'line_type',
  'amount',
  'currency',
  'description',
  'quantity',
  'period_start',
  'period_end',
  'proration',
  'price_id',
  'product_id',
  'subscription_id',
  'subscription_item_id',
  'invoice_item_id',
  'discount_amount',
  'raw',
] as const;

/** The invoice row won: its lines become the lines it carries (all of them when the list is complete). */
async function writeLines(db: Kysely<Database>, invoices: readonly StripeInvoiceObject[]): Promise<void> {
  const complete = invoices.filter((i) => !i.lines.has_more).map((i) => i.id);
  if (complete.length) await db.deleteFrom('stripe_invoice_lines').where('invoice_id', 'in', complete).execute();
  const rows = invoices.flatMap((i) => {
    const seen = new Set<string>();
    return i.lines.data.filter((l) => !seen.has(l.id) && seen.add(l.id)).map((l) => lineRow(i.id, l));
  });
  if (rows.length === 0) return;
  const updates = sql.join(
    LINE_COLUMNS.filter((c) => c !== 'invoice_id' && c !== 'id').map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`),
  );
  await sql`
    insert into stripe_invoice_lines (${sql.join(LINE_COLUMNS.map((c) => sql.ref(c)))})
    values ${sql.join(rows.map((r) => sql`(${sql.join(LINE_COLUMNS.map((c) => r[c] ?? null))})`))}
    on conflict (invoice_id, id) do update set ${updates}`.execute(db);
}

export const invoiceNormalizer: Normalizer<StripeInvoiceObject> = {
  object: 'invoice',
  table: 'stripe_invoices',
  schema: invoiceSchema,
  // Status first, then payment attempts (finalize and the first failed attempt often share a second).
  rank: (i) => (i.deleted ? 4n : (STATUS_ORDER[i.status ?? ''] ?? 0n)) * 1_000_000n + BigInt(Math.min(i.attempt_count, 999_999)),
  columns: (i, version) => ({
    id: i.id,
    number: i.number ?? null,
    customer_id: refId(i.customer),
    subscription_id: refId(i.parent?.subscription_details?.subscription) ?? refId(i.subscription),
    status: i.status ?? null,
    currency: currency(i.currency),
    amount_due: BigInt(i.amount_due),
    amount_paid: BigInt(i.amount_paid),
    amount_remaining: BigInt(i.amount_remaining),
    subtotal: BigInt(i.subtotal),
    total: BigInt(i.total),
    tax: i.total_taxes ? i.total_taxes.reduce((s, t) => s + BigInt(t.amount), 0n) : BigInt(i.tax ?? 0),
    starting_balance: big(i.starting_balance),
    ending_balance: big(i.ending_balance),
    pre_payment_credit_notes_amount: BigInt(i.pre_payment_credit_notes_amount ?? 0),
    post_payment_credit_notes_amount: BigInt(i.post_payment_credit_notes_amount ?? 0),
    collection_method: i.collection_method ?? null,
    billing_reason: i.billing_reason ?? null,
    due_date: time(i.due_date),
    attempt_count: i.attempt_count,
    attempted: i.attempted,
    next_payment_attempt: time(i.next_payment_attempt),
    period_start: time(i.period_start),
    period_end: time(i.period_end),
    finalized_at: time(i.status_transitions?.finalized_at),
    paid_at: time(i.status_transitions?.paid_at),
    voided_at: time(i.status_transitions?.voided_at),
    marked_uncollectible_at: time(i.status_transitions?.marked_uncollectible_at),
    deleted_at: i.deleted ? version.at : null,
    customer_email: i.customer_email ?? null,
    customer_name: i.customer_name ?? null,
    discounts: jsonText(i.discounts ?? []),
    hosted_invoice_url: i.hosted_invoice_url ?? null,
    lines_complete: !i.lines.has_more,
    metadata: jsonText(i.metadata ?? {}),
    livemode: i.livemode,
    created: time(i.created) as Date,
  }),
  afterWrite: writeLines,
};
