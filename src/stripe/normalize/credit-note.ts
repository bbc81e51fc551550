import { z } from 'zod';
import { type Normalizer, big, currency, jsonText, metadata, nullableInt, nullableString, ref, refId, statusRank, time, unixTime } from './common.js';

const creditNoteSchema = z.looseObject({
  id: z.string(),
  object: z.literal('credit_note'),
  number: nullableString,
  invoice: ref,
  customer: ref,
  status: z.string(),
  type: nullableString,
  reason: nullableString,
  currency: z.string(),
  amount: z.number().int(),
  subtotal: nullableInt,
  total: nullableInt,
  discount_amount: nullableInt,
  pre_payment_amount: nullableInt,
  post_payment_amount: nullableInt,
  out_of_band_amount: nullableInt,
  customer_balance_transaction: ref,
  // Since 2025 a list of { refund, amount_refunded }; before, one `refund` reference.
  refunds: z.array(z.looseObject({ refund: ref })).nullable().optional(),
  refund: ref,
  memo: nullableString,
  effective_at: unixTime,
  voided_at: unixTime,
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripeCreditNoteObject = z.infer<typeof creditNoteSchema>;

const STATUS_ORDER: Record<string, number> = { issued: 0, void: 1 };

export const creditNoteNormalizer: Normalizer<StripeCreditNoteObject> = {
  object: 'credit_note',
  table: 'stripe_credit_notes',
  schema: creditNoteSchema,
  rank: (c) => statusRank(STATUS_ORDER, c.status),
  columns: (c) => ({
    id: c.id,
    number: c.number ?? null,
    invoice_id: refId(c.invoice),
    customer_id: refId(c.customer),
    status: c.status,
    type: c.type ?? null,
    reason: c.reason ?? null,
    currency: currency(c.currency),
    amount: BigInt(c.amount),
    subtotal: big(c.subtotal),
    total: big(c.total),
    discount_amount: big(c.discount_amount),
    pre_payment_amount: big(c.pre_payment_amount),
    post_payment_amount: big(c.post_payment_amount),
    out_of_band_amount: big(c.out_of_band_amount),
    customer_balance_transaction_id: refId(c.customer_balance_transaction),
    refund_ids: [...(c.refunds ?? []).map((r) => refId(r.refund)), refId(c.refund)].filter((x): x is string => x !== null),
    memo: c.memo ?? null,
    effective_at: time(c.effective_at),
    voided_at: time(c.voided_at),
    metadata: jsonText(c.metadata ?? {}),
    livemode: c.livemode,
    created: time(c.created) as Date,
  }),
};
