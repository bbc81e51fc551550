import Stripe from 'stripe';
import type { CollectionsStripe } from './types.js';

/**
 * The one Stripe call collections makes: `POST /v1/invoices/:id/send` (Stripe e-mails the invoice to
 * the customer again), with the idempotency key `collections:<invoice>:<step>`. A retry of the same
 * step within Stripe's key window (about 24 h) is answered with the first result and sends nothing.
 */

/** Through stripe-node. */
export function stripeCollectionsClient(stripe: Stripe): CollectionsStripe {
  return {
    reachesStripe: true,
    async sendInvoice(invoiceId, idempotencyKey) {
      const inv = await stripe.invoices.sendInvoice(invoiceId, {}, { idempotencyKey });
      return { id: inv.id ?? invoiceId, status: inv.status ?? null };
    },
  };
}

/**
 * For the demo, which has no Stripe account: records what would have been sent (keys honoured, as
 * Stripe would) and sends nothing. Sending an invoice changes nothing in Stripe's copy of it.
 */
export function localCollectionsStripe(): CollectionsStripe & { readonly sent: ReadonlyArray<{ invoiceId: string; idempotencyKey: string }> } {
  const sent: Array<{ invoiceId: string; idempotencyKey: string }> = [];
  const keys = new Set<string>();
  return {
    reachesStripe: false,
    sent,
    async sendInvoice(invoiceId, idempotencyKey) {
      if (!keys.has(idempotencyKey)) {
        keys.add(idempotencyKey);
        sent.push({ invoiceId, idempotencyKey });
      }
      return { id: invoiceId, status: 'open' };
    },
  };
}

function isCollectionsStripe(x: unknown): x is CollectionsStripe {
  return typeof x === 'object' && x !== null && typeof (x as CollectionsStripe).sendInvoice === 'function';
}

/** A stripe-node client or the narrow interface, as the engine takes it. */
export function asCollectionsStripe(s: Stripe | CollectionsStripe): CollectionsStripe {
  return isCollectionsStripe(s) ? s : stripeCollectionsClient(s as Stripe);
}
