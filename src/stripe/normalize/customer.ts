import { z } from 'zod';
import { type Normalizer, currency, jsonText, metadata, nullableInt, nullableString, time } from './common.js';

const customerSchema = z.looseObject({
  id: z.string(),
  object: z.literal('customer'),
  email: nullableString,
  name: nullableString,
  description: nullableString,
  currency: nullableString,
  balance: nullableInt,
  delinquent: z.boolean().nullable().optional(),
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
  /** Set by billops for `customer.deleted` (Stripe sends the customer as it was). */
  deleted: z.boolean().optional(),
});
export type StripeCustomerObject = z.infer<typeof customerSchema>;

export const customerNormalizer: Normalizer<StripeCustomerObject> = {
  object: 'customer',
  table: 'stripe_customers',
  schema: customerSchema,
  // A deletion outranks an update stamped in the same second.
  rank: (c) => (c.deleted ? 1n : 0n),
  columns: (c, version) => ({
    id: c.id,
    email: c.email ?? null,
    name: c.name ?? null,
    description: c.description ?? null,
    currency: c.currency ? currency(c.currency) : null,
    balance: BigInt(c.balance ?? 0),
    delinquent: c.delinquent ?? null,
    metadata: jsonText(c.metadata ?? {}),
    livemode: c.livemode,
    created: time(c.created) as Date,
    deleted_at: c.deleted ? version.at : null,
  }),
};
