import { z } from 'zod';
import { type Normalizer, currency, jsonText, metadata, nullableString, ref, refId, statusRank, time } from './common.js';

const refundSchema = z.looseObject({
  id: z.string(),
  object: z.literal('refund'),
  charge: ref,
  payment_intent: ref,
  amount: z.number().int(),
  currency: z.string(),
  status: nullableString,
  reason: nullableString,
  balance_transaction: ref,
  failure_balance_transaction: ref,
  metadata,
  created: z.number().int(),
});
export type StripeRefundObject = z.infer<typeof refundSchema>;

const STATUS_ORDER: Record<string, number> = { pending: 0, requires_action: 0, succeeded: 1, failed: 1, canceled: 1 };

export const refundNormalizer: Normalizer<StripeRefundObject> = {
  object: 'refund',
  table: 'stripe_refunds',
  schema: refundSchema,
  rank: (r) => statusRank(STATUS_ORDER, r.status),
  columns: (r) => ({
    id: r.id,
    charge_id: refId(r.charge),
    payment_intent_id: refId(r.payment_intent),
    amount: BigInt(r.amount),
    currency: currency(r.currency),
    status: r.status ?? null,
    reason: r.reason ?? null,
    balance_transaction_id: refId(r.balance_transaction),
    failure_balance_transaction_id: refId(r.failure_balance_transaction),
    metadata: jsonText(r.metadata ?? {}),
    created: time(r.created) as Date,
  }),
};
