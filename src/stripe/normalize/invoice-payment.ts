import { z } from 'zod';
import { type Normalizer, big, currency, nullableInt, nullableString, ref, refId, statusRank, time, unixTime } from './common.js';

/** The link between an invoice and the payment that paid it (API 2025-03-31 and later). */
const invoicePaymentSchema = z.looseObject({
  id: z.string(),
  object: z.literal('invoice_payment'),
  invoice: z.union([z.string(), z.looseObject({ id: z.string() })]),
  payment: z.looseObject({ type: nullableString, payment_intent: ref, charge: ref }),
  amount_paid: nullableInt,
  amount_requested: z.number().int(),
  currency: z.string(),
  status: z.string(),
  is_default: z.boolean().nullable().optional(),
  status_transitions: z.looseObject({ paid_at: unixTime }).nullable().optional(),
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripeInvoicePaymentObject = z.infer<typeof invoicePaymentSchema>;

const STATUS_ORDER: Record<string, number> = { open: 0, paid: 1, canceled: 1 };

export const invoicePaymentNormalizer: Normalizer<StripeInvoicePaymentObject> = {
  object: 'invoice_payment',
  table: 'stripe_invoice_payments',
  schema: invoicePaymentSchema,
  rank: (p) => statusRank(STATUS_ORDER, p.status),
  columns: (p) => ({
    id: p.id,
    invoice_id: refId(p.invoice) as string,
    payment_type: p.payment.type ?? null,
    payment_intent_id: refId(p.payment.payment_intent),
    charge_id: refId(p.payment.charge),
    amount_paid: big(p.amount_paid),
    amount_requested: BigInt(p.amount_requested),
    currency: currency(p.currency),
    status: p.status,
    is_default: p.is_default ?? null,
    paid_at: time(p.status_transitions?.paid_at),
    livemode: p.livemode,
    created: time(p.created) as Date,
  }),
};
