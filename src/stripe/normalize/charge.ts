import { z } from 'zod';
import { type Normalizer, currency, jsonText, metadata, nullableString, ref, refId, time } from './common.js';

const chargeSchema = z.looseObject({
  id: z.string(),
  object: z.literal('charge'),
  customer: ref,
  payment_intent: ref,
  /** Only on API versions before 2025-03-31. */
  invoice: ref,
  amount: z.number().int(),
  amount_captured: z.number().int(),
  amount_refunded: z.number().int(),
  currency: z.string(),
  status: z.string(),
  paid: z.boolean(),
  captured: z.boolean(),
  refunded: z.boolean(),
  disputed: z.boolean(),
  balance_transaction: ref,
  failure_balance_transaction: ref,
  failure_code: nullableString,
  failure_message: nullableString,
  description: nullableString,
  payment_method_details: z
    .looseObject({
      type: z.string(),
      card: z.looseObject({ brand: nullableString, last4: nullableString }).nullable().optional(),
    })
    .nullable()
    .optional(),
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripeChargeObject = z.infer<typeof chargeSchema>;

const STATUS_ORDER: Record<string, bigint> = { pending: 0n, failed: 1n, succeeded: 1n };

export const chargeNormalizer: Normalizer<StripeChargeObject> = {
  object: 'charge',
  table: 'stripe_charges',
  schema: chargeSchema,
  // Settled beats pending; then refunds only ever add up (a refund in the charge's own second).
  rank: (c) => (STATUS_ORDER[c.status] ?? 0n) * 10n ** 15n + BigInt(c.amount_refunded),
  columns: (c) => ({
    id: c.id,
    customer_id: refId(c.customer),
    payment_intent_id: refId(c.payment_intent),
    invoice_id: refId(c.invoice),
    amount: BigInt(c.amount),
    amount_captured: BigInt(c.amount_captured),
    amount_refunded: BigInt(c.amount_refunded),
    currency: currency(c.currency),
    status: c.status,
    paid: c.paid,
    captured: c.captured,
    refunded: c.refunded,
    disputed: c.disputed,
    balance_transaction_id: refId(c.balance_transaction),
    failure_balance_transaction_id: refId(c.failure_balance_transaction),
    failure_code: c.failure_code ?? null,
    failure_message: c.failure_message ?? null,
    description: c.description ?? null,
    payment_method_type: c.payment_method_details?.type ?? null,
    card_brand: c.payment_method_details?.card?.brand ?? null,
    card_last4: c.payment_method_details?.card?.last4 ?? null,
    metadata: jsonText(c.metadata ?? {}),
    livemode: c.livemode,
    created: time(c.created) as Date,
  }),
};
