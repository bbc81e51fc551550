import Stripe from 'stripe';
import type { Config } from '../config/index.js';
import { UserError } from '../util/index.js';

/** Overrides for where and how the client talks to Stripe (a proxy, a local stand-in, tests). */
export interface StripeClientOverrides {
  apiKey?: string;
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Retries of network errors, 409 and 5xx (stripe-node does not retry a plain 429). */
  maxNetworkRetries?: number;
  /** Milliseconds per request. */
  timeout?: number;
}

/**
 * A stripe-node client from billops' config: `STRIPE_SECRET_KEY`, `stripe.api_url` for a proxy,
 * `stripe.max_network_retries` and `stripe.request_timeout_seconds`. Pinned to the API version
 * stripe-node 23 is typed for, so the objects match the types billops validates against.
 */
export function createStripeClient(config: Config, overrides: StripeClientOverrides = {}): Stripe {
  const apiKey = overrides.apiKey ?? config.env.STRIPE_SECRET_KEY;
  if (!apiKey) throw new UserError('STRIPE_SECRET_KEY is not set (see README: Configuration)');
  const s = config.file.stripe;
  const url = s.api_url ? new URL(s.api_url) : undefined;
  const protocol = overrides.protocol ?? (url ? (url.protocol.replace(':', '') as 'http' | 'https') : undefined);
  const host = overrides.host ?? url?.hostname;
  const port = overrides.port ?? (url?.port ? Number(url.port) : undefined);
  return new Stripe(apiKey, {
    apiVersion: Stripe.API_VERSION,
    maxNetworkRetries: overrides.maxNetworkRetries ?? s.max_network_retries,
    timeout: overrides.timeout ?? s.request_timeout_seconds * 1000,
    telemetry: false,
    appInfo: { name: 'billops' },
    ...(host ? { host } : {}),
    ...(port ? { port } : {}),
    ...(protocol ? { protocol } : {}),
  });
}
