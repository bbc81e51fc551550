import type { Kysely } from 'kysely';
import Stripe from 'stripe';
import type { Database } from '../db/index.js';
import { normalizeObjects } from '../stripe/index.js';
import type { Clock } from '../util/index.js';
import type { PauseBehavior } from './types.js';

/**
 * The handful of Stripe calls the executor makes, and nothing else. `stripeApprovalClient` is the
 * real one (stripe-node); `localApprovalStripe` applies the same changes to billops' own copy of the
 * Stripe data, for the demo, and says it does not reach Stripe.
 */

export interface CreditTransaction {
  /** `cbtxn_…` */
  id: string;
  /** Stripe's sign: negative is credit given to the customer. */
  amount: bigint;
  /** Upper case. */
  currency: string;
  /** The customer's balance right after it (negative = credit the customer holds). */
  endingBalance: bigint;
  metadata: Record<string, string>;
  created: Date;
}

export interface SubscriptionState {
  id: string;
  status: string;
  trialEnd: Date | null;
  pause: { behavior: string; resumesAt: Date | null } | null;
  cancelAtPeriodEnd: boolean;
  metadata: Record<string, string>;
  /** The object as Stripe returned it, for billops' copy. */
  raw: unknown;
}

export interface InvoiceState {
  id: string;
  status: string | null;
  raw: unknown;
}

export interface SubscriptionChange {
  /** New trial end, applied with `proration_behavior: 'none'`. */
  trialEnd?: Date;
  /** `null` resumes collection. */
  pause?: { behavior: PauseBehavior; resumesAt: Date | null } | null;
  cancelAtPeriodEnd?: boolean;
  metadata: Record<string, string>;
}

export interface ApprovalStripe {
  /** False for a stand-in that changes only billops' copy (the demo). */
  readonly reachesStripe: boolean;
  createCustomerCredit(
    customerId: string,
    input: { amount: bigint; currency: string; description: string; metadata: Record<string, string> },
    idempotencyKey: string,
  ): Promise<CreditTransaction>;
  /** The customer's balance transaction carrying `metadata.billops_approval_id`, if there is one. */
  findCustomerCredit(customerId: string, approvalId: string): Promise<CreditTransaction | null>;
  updateSubscription(id: string, change: SubscriptionChange, idempotencyKey: string): Promise<SubscriptionState>;
  retrieveSubscription(id: string): Promise<SubscriptionState>;
  voidInvoice(id: string, idempotencyKey: string): Promise<InvoiceState>;
  markInvoiceUncollectible(id: string, idempotencyKey: string): Promise<InvoiceState>;
  retrieveInvoice(id: string): Promise<InvoiceState>;
}

export function isApprovalStripe(x: unknown): x is ApprovalStripe {
  return typeof x === 'object' && x !== null && typeof (x as ApprovalStripe).createCustomerCredit === 'function';
}

const toDate = (unix: number | null | undefined): Date | null => (typeof unix === 'number' ? new Date(unix * 1000) : null);
const toUnix = (d: Date): number => Math.floor(d.getTime() / 1000);

function metadataOf(m: unknown): Record<string, string> {
  if (!m || typeof m !== 'object') return {};
  return Object.fromEntries(Object.entries(m as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function creditFrom(t: Stripe.CustomerBalanceTransaction): CreditTransaction {
  return {
    id: t.id,
    amount: BigInt(t.amount),
    currency: t.currency.toUpperCase(),
    endingBalance: BigInt(t.ending_balance),
    metadata: metadataOf(t.metadata),
    created: new Date(t.created * 1000),
  };
}

function subscriptionFrom(s: Stripe.Subscription): SubscriptionState {
  return {
    id: s.id,
    status: s.status,
    trialEnd: toDate(s.trial_end),
    pause: s.pause_collection ? { behavior: s.pause_collection.behavior, resumesAt: toDate(s.pause_collection.resumes_at) } : null,
    cancelAtPeriodEnd: s.cancel_at_period_end,
    metadata: metadataOf(s.metadata),
    raw: s,
  };
}

function invoiceFrom(i: Stripe.Invoice): InvoiceState {
  return { id: i.id ?? '', status: i.status ?? null, raw: i };
}

/** The executor's Stripe side through stripe-node. */
export function stripeApprovalClient(stripe: Stripe): ApprovalStripe {
  return {
    reachesStripe: true,
    async createCustomerCredit(customerId, input, idempotencyKey) {
      const t = await stripe.customers.createBalanceTransaction(
        customerId,
        // amounts are at most MAX_MINOR_UNITS (1e15), well inside a safe integer
        { amount: Number(input.amount), currency: input.currency.toLowerCase(), description: input.description, metadata: input.metadata },
        { idempotencyKey },
      );
      return creditFrom(t);
    },
    async findCustomerCredit(customerId, approvalId) {
      // newest first: a credit made by a recent attempt is on the first page
      for await (const t of stripe.customers.listBalanceTransactions(customerId, { limit: 100 })) {
        if (t.metadata?.billops_approval_id === approvalId) return creditFrom(t);
      }
      return null;
    },
    async updateSubscription(id, change, idempotencyKey) {
      const params: Stripe.SubscriptionUpdateParams = { metadata: change.metadata };
      if (change.trialEnd !== undefined) {
        params.trial_end = toUnix(change.trialEnd);
        params.proration_behavior = 'none';
      }
      if (change.pause !== undefined) {
        params.pause_collection =
          change.pause === null ? '' : { behavior: change.pause.behavior, ...(change.pause.resumesAt ? { resumes_at: toUnix(change.pause.resumesAt) } : {}) };
      }
      if (change.cancelAtPeriodEnd !== undefined) params.cancel_at_period_end = change.cancelAtPeriodEnd;
      return subscriptionFrom(await stripe.subscriptions.update(id, params, { idempotencyKey }));
    },
    async retrieveSubscription(id) {
      return subscriptionFrom(await stripe.subscriptions.retrieve(id));
    },
    async voidInvoice(id, idempotencyKey) {
      return invoiceFrom(await stripe.invoices.voidInvoice(id, {}, { idempotencyKey }));
    },
    async markInvoiceUncollectible(id, idempotencyKey) {
      return invoiceFrom(await stripe.invoices.markUncollectible(id, {}, { idempotencyKey }));
    },
    async retrieveInvoice(id) {
      return invoiceFrom(await stripe.invoices.retrieve(id));
    },
  };
}

type RawObject = Record<string, unknown> & { id: string };

/**
 * For the demo, which has no Stripe account: each call changes billops' stored copy of the Stripe
 * object the way Stripe would (through the same normalization a webhook goes through) and nothing is
 * sent anywhere. Idempotency keys are honoured within the process.
 */
export function localApprovalStripe(db: Kysely<Database>, clock: Clock): ApprovalStripe {
  const done = new Map<string, unknown>();
  const credits: Array<CreditTransaction & { customerId: string }> = [];

  async function stored(table: 'stripe_customers' | 'stripe_subscriptions' | 'stripe_invoices', id: string): Promise<{ raw: RawObject; versionAt: Date }> {
    const row = await db.selectFrom(table).select(['raw', 'version_at']).where('id', '=', id).executeTakeFirst();
    if (!row) throw new Error(`No such object in billops' copy of Stripe: '${id}'`);
    const raw = (typeof row.raw === 'string' ? JSON.parse(row.raw) : row.raw) as RawObject;
    return { raw, versionAt: row.version_at };
  }
  /** A newer version than the one stored, so the change wins like a later webhook would. */
  async function save(object: RawObject, versionAt: Date): Promise<void> {
    const at = new Date(Math.max(clock.now().getTime(), versionAt.getTime() + 1000));
    await normalizeObjects(db, [{ object, version: { at, eventId: null } }], at);
  }
  async function once<T>(key: string, run: () => Promise<T>): Promise<T> {
    if (done.has(key)) return done.get(key) as T;
    const res = await run();
    done.set(key, res);
    return res;
  }
  async function subscription(id: string): Promise<SubscriptionState> {
    const { raw } = await stored('stripe_subscriptions', id);
    return subscriptionFrom(raw as unknown as Stripe.Subscription);
  }
  async function invoiceTo(id: string, status: 'void' | 'uncollectible', key: string): Promise<InvoiceState> {
    return once(key, async () => {
      const { raw, versionAt } = await stored('stripe_invoices', id);
      const allowed = status === 'void' ? ['open', 'uncollectible'] : ['open'];
      if (!allowed.includes(String(raw.status))) throw new Error(`Invoice ${id} is ${String(raw.status)}; it cannot be made ${status}.`);
      const now = toUnix(clock.now());
      raw.status = status;
      raw.status_transitions = { ...((raw.status_transitions as object | null) ?? {}), [status === 'void' ? 'voided_at' : 'marked_uncollectible_at']: now };
      await save(raw, versionAt);
      return { id, status, raw };
    });
  }

  return {
    reachesStripe: false,
    createCustomerCredit(customerId, input, key) {
      return once(key, async () => {
        const { raw, versionAt } = await stored('stripe_customers', customerId);
        const currency = input.currency.toLowerCase();
        if (typeof raw.currency === 'string' && raw.currency !== currency) {
          throw new Error(`The currency ${currency} does not match the customer's currency ${raw.currency}.`);
        }
        const ending = BigInt(typeof raw.balance === 'number' ? raw.balance : 0) + input.amount;
        raw.balance = Number(ending);
        raw.currency = currency;
        await save(raw, versionAt);
        const txn = {
          id: `cbtxn_local_${input.metadata.billops_approval_id ?? credits.length + 1}`,
          amount: input.amount,
          currency: input.currency.toUpperCase(),
          endingBalance: ending,
          metadata: input.metadata,
          created: clock.now(),
          customerId,
        };
        credits.push(txn);
        return txn;
      });
    },
    async findCustomerCredit(customerId, approvalId) {
      return credits.find((c) => c.customerId === customerId && c.metadata.billops_approval_id === approvalId) ?? null;
    },
    updateSubscription(id, change, key) {
      return once(key, async () => {
        const { raw, versionAt } = await stored('stripe_subscriptions', id);
        if (change.trialEnd !== undefined) {
          raw.trial_end = toUnix(change.trialEnd);
          raw.status = 'trialing';
        }
        if (change.pause !== undefined) {
          raw.pause_collection = change.pause === null ? null : { behavior: change.pause.behavior, resumes_at: change.pause.resumesAt ? toUnix(change.pause.resumesAt) : null };
        }
        if (change.cancelAtPeriodEnd !== undefined) raw.cancel_at_period_end = change.cancelAtPeriodEnd;
        raw.metadata = { ...((raw.metadata as Record<string, string> | null) ?? {}), ...change.metadata };
        await save(raw, versionAt);
        return subscription(id);
      });
    },
    retrieveSubscription: subscription,
    voidInvoice: (id, key) => invoiceTo(id, 'void', key),
    markInvoiceUncollectible: (id, key) => invoiceTo(id, 'uncollectible', key),
    async retrieveInvoice(id) {
      const { raw } = await stored('stripe_invoices', id);
      return { id, status: typeof raw.status === 'string' ? raw.status : null, raw };
    },
  };
}

/** A Stripe client or the narrow interface, as the executor takes it. */
export type StripeLike = Stripe | ApprovalStripe;

export function asApprovalStripe(s: StripeLike): ApprovalStripe {
  return isApprovalStripe(s) ? s : stripeApprovalClient(s);
}
