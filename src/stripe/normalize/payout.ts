import { z } from 'zod';
import { type Normalizer, currency, jsonText, metadata, nullableString, ref, refId, statusRank, time, unixTime } from './common.js';

const payoutSchema = z.looseObject({
  id: z.string(),
  object: z.literal('payout'),
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
  arrival_date: unixTime,
  automatic: z.boolean(),
  method: nullableString,
  type: nullableString,
  balance_transaction: ref,
  failure_balance_transaction: ref,
  failure_code: nullableString,
  failure_message: nullableString,
  destination: ref,
  description: nullableString,
  statement_descriptor: nullableString,
  reconciliation_status: nullableString,
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripePayoutObject = z.infer<typeof payoutSchema>;

const STATUS_ORDER: Record<string, number> = { pending: 0, in_transit: 1, paid: 2, failed: 2, canceled: 2 };

export const payoutNormalizer: Normalizer<StripePayoutObject> = {
  object: 'payout',
  table: 'stripe_payouts',
  schema: payoutSchema,
  // reconciliation_status moves in_progress → completed after the payout is paid.
  rank: (p) => statusRank(STATUS_ORDER, p.status) * 10n + (p.reconciliation_status === 'completed' ? 1n : 0n),
  columns: (p) => ({
    id: p.id,
    amount: BigInt(p.amount),
    currency: currency(p.currency),
    status: p.status,
    arrival_date: time(p.arrival_date),
    automatic: p.automatic,
    method: p.method ?? null,
    type: p.type ?? null,
    balance_transaction_id: refId(p.balance_transaction),
    failure_balance_transaction_id: refId(p.failure_balance_transaction),
    failure_code: p.failure_code ?? null,
    failure_message: p.failure_message ?? null,
    destination_id: refId(p.destination),
    description: p.description ?? null,
    statement_descriptor: p.statement_descriptor ?? null,
    reconciliation_status: p.reconciliation_status ?? null,
    metadata: jsonText(p.metadata ?? {}),
    livemode: p.livemode,
    created: time(p.created) as Date,
  }),
};
