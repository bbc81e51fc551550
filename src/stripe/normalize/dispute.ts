import { z } from 'zod';
import { type Normalizer, currency, jsonText, metadata, nullableString, ref, refId, statusRank, time, unixTime } from './common.js';

const disputeSchema = z.looseObject({
  id: z.string(),
  object: z.literal('dispute'),
  charge: ref,
  payment_intent: ref,
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
  reason: nullableString,
  evidence_details: z.looseObject({ due_by: unixTime }).nullable().optional(),
  is_charge_refundable: z.boolean().nullable().optional(),
  balance_transactions: z.array(ref).nullable().optional(),
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripeDisputeObject = z.infer<typeof disputeSchema>;

/** Needs a response → under review → closed (won, lost, …). */
const STATUS_ORDER: Record<string, number> = {
  warning_needs_response: 0,
  needs_response: 0,
  warning_under_review: 1,
  under_review: 1,
  warning_closed: 2,
  won: 2,
  lost: 2,
  prevented: 2,
};

export const disputeNormalizer: Normalizer<StripeDisputeObject> = {
  object: 'dispute',
  table: 'stripe_disputes',
  schema: disputeSchema,
  // Funds withdrawn / reinstated add balance transactions within the same status.
  rank: (d) => statusRank(STATUS_ORDER, d.status) * 1000n + BigInt(Math.min(d.balance_transactions?.length ?? 0, 999)),
  columns: (d) => ({
    id: d.id,
    charge_id: refId(d.charge),
    payment_intent_id: refId(d.payment_intent),
    amount: BigInt(d.amount),
    currency: currency(d.currency),
    status: d.status,
    reason: d.reason ?? null,
    evidence_due_by: time(d.evidence_details?.due_by),
    is_charge_refundable: d.is_charge_refundable ?? null,
    balance_transaction_ids: (d.balance_transactions ?? []).map(refId).filter((x): x is string => x !== null),
    metadata: jsonText(d.metadata ?? {}),
    livemode: d.livemode,
    created: time(d.created) as Date,
  }),
};
