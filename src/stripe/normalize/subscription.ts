import { z } from 'zod';
import { type Normalizer, big, currency, jsonText, metadata, ref, refId, statusRank, time, unixTime } from './common.js';

const priceSchema = z.looseObject({
  id: z.string(),
  product: ref,
  currency: z.string(),
  unit_amount: z.number().int().nullable().optional(),
  recurring: z
    .looseObject({ interval: z.string(), interval_count: z.number().int() })
    .nullable()
    .optional(),
});

const itemSchema = z.looseObject({
  id: z.string(),
  price: priceSchema,
  quantity: z.number().int().nullable().optional(),
  current_period_start: unixTime,
  current_period_end: unixTime,
  discounts: z.array(ref).optional(),
});

const subscriptionSchema = z.looseObject({
  id: z.string(),
  object: z.literal('subscription'),
  customer: z.union([z.string(), z.looseObject({ id: z.string() })]),
  status: z.string(),
  currency: z.string(),
  collection_method: z.string().nullable().optional(),
  items: z.looseObject({ data: z.array(itemSchema) }),
  // Before API 2025-03-31 the period lived on the subscription; since then on each item.
  current_period_start: unixTime,
  current_period_end: unixTime,
  trial_start: unixTime,
  trial_end: unixTime,
  cancel_at_period_end: z.boolean(),
  cancel_at: unixTime,
  canceled_at: unixTime,
  ended_at: unixTime,
  pause_collection: z
    .looseObject({ behavior: z.string(), resumes_at: unixTime })
    .nullable()
    .optional(),
  discounts: z.array(ref).optional(),
  latest_invoice: ref,
  start_date: unixTime,
  metadata,
  livemode: z.boolean(),
  created: z.number().int(),
});
export type StripeSubscriptionObject = z.infer<typeof subscriptionSchema>;

/** Where a subscription can be in its life; same-second updates go to the later one. */
const STATUS_ORDER: Record<string, number> = {
  incomplete: 0,
  trialing: 1,
  active: 2,
  past_due: 3,
  unpaid: 4,
  paused: 5,
  incomplete_expired: 9,
  canceled: 9,
};

function minOf(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? Math.min(...v) : null;
}
function maxOf(values: Array<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? Math.max(...v) : null;
}

export const subscriptionNormalizer: Normalizer<StripeSubscriptionObject> = {
  object: 'subscription',
  table: 'stripe_subscriptions',
  schema: subscriptionSchema,
  rank: (s) => statusRank(STATUS_ORDER, s.status),
  columns: (s) => {
    const items = s.items.data;
    // The plan columns describe the first item; `items` keeps every one.
    const primary = items[0];
    const price = primary?.price;
    return {
      id: s.id,
      customer_id: refId(s.customer) as string,
      status: s.status,
      currency: currency(s.currency),
      collection_method: s.collection_method ?? null,
      price_id: price?.id ?? null,
      product_id: refId(price?.product),
      plan_interval: price?.recurring?.interval ?? null,
      plan_interval_count: price?.recurring?.interval_count ?? null,
      unit_amount: big(price?.unit_amount),
      quantity: big(primary?.quantity),
      items: jsonText(
        items.map((i) => ({
          id: i.id,
          price_id: i.price.id,
          product_id: refId(i.price.product),
          unit_amount: i.price.unit_amount ?? null,
          currency: currency(i.price.currency),
          interval: i.price.recurring?.interval ?? null,
          interval_count: i.price.recurring?.interval_count ?? null,
          quantity: i.quantity ?? null,
          current_period_start: i.current_period_start ?? null,
          current_period_end: i.current_period_end ?? null,
        })),
      ),
      current_period_start: time(s.current_period_start ?? minOf(items.map((i) => i.current_period_start))),
      current_period_end: time(s.current_period_end ?? maxOf(items.map((i) => i.current_period_end))),
      trial_start: time(s.trial_start),
      trial_end: time(s.trial_end),
      cancel_at_period_end: s.cancel_at_period_end,
      cancel_at: time(s.cancel_at),
      canceled_at: time(s.canceled_at),
      ended_at: time(s.ended_at),
      pause_behavior: s.pause_collection?.behavior ?? null,
      pause_resumes_at: time(s.pause_collection?.resumes_at),
      // Discount ids, or the discount objects when Stripe expanded them.
      discounts: jsonText(s.discounts ?? []),
      latest_invoice_id: refId(s.latest_invoice),
      start_date: time(s.start_date),
      metadata: jsonText(s.metadata ?? {}),
      livemode: s.livemode,
      created: time(s.created) as Date,
    };
  },
};
