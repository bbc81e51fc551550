import { z } from 'zod';
import { type Normalizer, currency, decimalText, jsonText, nullableString, ref, refId, statusRank, time, unixTime } from './common.js';

const balanceTransactionSchema = z.looseObject({
  id: z.string(),
  object: z.literal('balance_transaction'),
  type: z.string(),
  reporting_category: z.string(),
  amount: z.number().int(),
  fee: z.number().int(),
  net: z.number().int(),
  currency: z.string(),
  exchange_rate: z.union([z.number(), z.string()]).nullable().optional(),
  source: z
    .union([z.string(), z.looseObject({ id: z.string(), object: z.string() })])
    .nullable()
    .optional(),
  status: z.string(),
  available_on: unixTime,
  description: nullableString,
  fee_details: z.array(z.looseObject({ amount: z.number().int(), currency: z.string(), type: z.string() })).nullable().optional(),
  created: z.number().int(),
});
export type StripeBalanceTransactionObject = z.infer<typeof balanceTransactionSchema>;

/** Object type by Stripe's id prefix, for sources that were not expanded. */
const SOURCE_PREFIX: Record<string, string> = {
  ch: 'charge',
  py: 'charge',
  re: 'refund',
  pyr: 'refund',
  dp: 'dispute',
  du: 'dispute',
  po: 'payout',
  tr: 'transfer',
  fee: 'application_fee',
  fr: 'fee_refund',
  tu: 'topup',
  adj: 'adjustment',
  iar: 'issuing.authorization',
  ipi: 'issuing.transaction',
};

export function sourceType(source: StripeBalanceTransactionObject['source']): string | null {
  if (source === null || source === undefined) return null;
  if (typeof source !== 'string') return source.object;
  return SOURCE_PREFIX[source.split('_')[0] ?? ''] ?? null;
}

const STATUS_ORDER: Record<string, number> = { pending: 0, available: 1 };

export const balanceTransactionNormalizer: Normalizer<StripeBalanceTransactionObject> = {
  object: 'balance_transaction',
  table: 'stripe_balance_transactions',
  schema: balanceTransactionSchema,
  rank: (t) => statusRank(STATUS_ORDER, t.status),
  // An expanded source is stored in its own table; the transaction keeps the id, as webhooks carry it.
  rawOf: (t) => ({ ...t, source: refId(t.source) }),
  // payout_id is not part of the object: the backfill sets it from the payout's transaction list.
  columns: (t) => ({
    id: t.id,
    type: t.type,
    reporting_category: t.reporting_category,
    amount: BigInt(t.amount),
    fee: BigInt(t.fee),
    net: BigInt(t.net),
    currency: currency(t.currency),
    exchange_rate: decimalText(t.exchange_rate),
    source_id: refId(t.source),
    source_type: sourceType(t.source),
    status: t.status,
    available_on: time(t.available_on),
    description: t.description ?? null,
    fee_details: jsonText(t.fee_details ?? []),
    created: time(t.created) as Date,
  }),
};
