import Stripe from 'stripe';
import { type HttpRoute, readRawBody, sendJson } from '../app/http-routes.js';
import { type Clock, type Logger, silentLogger, systemClock } from '../util/index.js';
import type { EventIntake } from './event-store.js';

export const STRIPE_WEBHOOK_PATH = '/stripe/webhook';

export interface WebhookRouteOptions {
  intake: EventIntake;
  /** The endpoint's signing secret (`whsec_…`). */
  secret: string;
  /** How old (or how far ahead) a signature's timestamp may be. */
  toleranceSeconds: number;
  clock?: Clock;
  logger?: Logger;
  path?: string;
}

/** Stripe's events are at most 512 KB; leave room for a generous account. */
const MAX_BODY_BYTES = 1024 * 1024;

function signatureTimestamp(header: string): number | null {
  const m = /(?:^|,)\s*t=(\d+)/.exec(header);
  return m?.[1] ? Number(m[1]) : null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `POST /stripe/webhook`: verify the signature on the raw body, store the event, answer 200.
 * Nothing else happens on the request path: the event is normalized later by the queue worker.
 * A 2xx means the event is committed; a redelivery is a no-op that is still answered 2xx;
 * a bad signature, a stale timestamp or a body that is not an event is a 400 and stores nothing.
 */
export function stripeWebhookRoute(opts: WebhookRouteOptions): HttpRoute {
  const clock = opts.clock ?? systemClock;
  const logger = (opts.logger ?? silentLogger).child({ component: 'stripe-webhook' });
  const refuse = (res: Parameters<HttpRoute['handler']>[1], error: string) => sendJson(res, 400, { error });
  return {
    path: opts.path ?? STRIPE_WEBHOOK_PATH,
    method: 'POST',
    handler: async (req, res) => {
      const body = await readRawBody(req, MAX_BODY_BYTES);
      const header = req.headers['stripe-signature'];
      if (typeof header !== 'string' || header.trim() === '') return refuse(res, 'missing Stripe-Signature header');
      const now = clock.now();
      let event: unknown;
      try {
        // HMAC over the raw bytes, tolerance check, then the one JSON.parse of the body.
        event = Stripe.webhooks.constructEvent(body, header, opts.secret, opts.toleranceSeconds, undefined, now.getTime());
      } catch (err) {
        if (err instanceof Stripe.errors.StripeSignatureVerificationError) {
          logger.warn({ reason: err.message.split('\n')[0] }, 'refused a Stripe webhook with a bad signature');
          return refuse(res, `signature verification failed: ${err.message.split('\n')[0]?.trim()}`);
        }
        if (err instanceof SyntaxError) return refuse(res, 'body is not valid JSON');
        throw err;
      }
      // stripe-node only refuses timestamps that are too old; one too far ahead is as suspect.
      const t = signatureTimestamp(header);
      if (t !== null && t - Math.floor(now.getTime() / 1000) > opts.toleranceSeconds) {
        return refuse(res, 'signature verification failed: Timestamp outside the tolerance zone');
      }
      if (
        !isRecord(event) ||
        typeof event.id !== 'string' ||
        !event.id.startsWith('evt_') ||
        typeof event.type !== 'string' ||
        !Number.isInteger(event.created) ||
        typeof event.livemode !== 'boolean' ||
        !isRecord(event.data) ||
        !isRecord(event.data.object)
      ) {
        return refuse(res, 'body is not a Stripe event (expected id, type, created, livemode and data.object)');
      }
      const inserted = await opts.intake.store({
        id: event.id,
        type: event.type,
        apiVersion: typeof event.api_version === 'string' ? event.api_version : null,
        created: event.created as number,
        objectId: typeof event.data.object.id === 'string' ? event.data.object.id : null,
        livemode: event.livemode,
        payload: body.toString('utf8'),
        receivedAt: now,
        source: 'webhook',
      });
      sendJson(res, 200, inserted ? { received: true } : { received: true, duplicate: true });
    },
  };
}
