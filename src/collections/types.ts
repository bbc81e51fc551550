import type { Kysely } from 'kysely';
import type { Actor } from '../audit/index.js';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { Money } from '../money/index.js';
import { type Clock, type Logger, UserError } from '../util/index.js';
import type { STEP_KINDS } from './config-schema.js';

/** What a step is, for people: reminder → follow-up → escalation → formal collections. */
export type StepKind = (typeof STEP_KINDS)[number];

/** What a performed step did, one entry per side effect, in this order. */
export const STEP_EFFECTS = ['remind_customer', 'dm_owner', 'dm_lead', 'post_channel'] as const;
export type StepEffect = (typeof STEP_EFFECTS)[number];

/**
 * Where a (invoice, step) row stands. `running`: claimed by a replica, side effects in progress;
 * `done`: every side effect happened; `failed`: one failed, retried on a later run (up to
 * `collections.max_attempts`); `skipped`: passed over — a later step was due when it would have run
 * (catch-up), or it failed and a later step superseded it; `closed`: the invoice left collections
 * (paid, voided, written off) before it happened.
 */
export const STEP_STATUSES = ['running', 'done', 'failed', 'skipped', 'closed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** A promise to pay (set by a person) or an open dispute (derived from Stripe) holds an account's dunning. */
export type PauseKind = 'promise_to_pay' | 'dispute';

/** Everything the collections services read. */
export interface CollectionsDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  logger: Logger;
}

/** A step of the policy as the engine uses it. */
export interface PolicyStep {
  id: string;
  /** Days from the due date (negative: before it). */
  day: number;
  kind: StepKind;
  /** "Follow-up: 7 days overdue". */
  label: string;
  effects: StepEffect[];
  /** `post_channel` resolved to a channel id; null when the policy names `collections`/`finance` and slack.channels has none. */
  channel: string | null;
  /** The channel as the policy names it (`collections`, `finance` or an id), for messages about a missing channel. */
  channelRef: string | null;
}

export interface PolicySegment {
  name: string;
  ownerFallback: string | null;
  lead: string | null;
  steps: PolicyStep[];
}

// --- side effects -------------------------------------------------------------------------------

/** A Slack message the notifier posted. */
export interface SentMessage {
  channel: string;
  ts: string;
}

/** What a step says about one invoice: everything a Slack message (plain text or Block Kit) shows. */
export interface CollectionsNotice {
  /** Who the message is for: a DM to the owner or the lead, or a channel post. */
  audience: 'owner' | 'lead' | 'channel';
  step: { id: string; label: string; kind: StepKind; day: number };
  segment: string;
  invoice: {
    id: string;
    number: string | null;
    amountDue: Money;
    amountRemaining: Money;
    /** Due day in org.timezone (YYYY-MM-DD): the due date, or finalization + undated_net_days. */
    dueOn: string;
    /** Whole days past the due day, in org.timezone (negative before it). */
    daysPastDue: number;
    collectionMethod: string | null;
    hostedInvoiceUrl: string | null;
    attemptCount: number;
    nextPaymentAttempt: Date | null;
    lastDecline: { chargeId: string; code: string | null; message: string | null; at: Date } | null;
  };
  customer: { id: string | null; name: string | null; email: string | null };
  /** The account owner: from customer metadata, else the segment's fallback; null when neither names anyone. */
  owner: { userId: string; source: 'metadata' | 'segment_fallback' } | null;
  /** Slack users a channel post should mention (owner on escalations, the lead on formal steps). */
  mentions: string[];
  /** What the customer was told by this step, if it reminds them. */
  reminder: CustomerReminder | null;
  /** `collections:<invoice>:<step>`: the Stripe idempotency key, also a stable id for the message. */
  key: string;
  /** org.timezone, for dates in the message. */
  timezone: string;
}

/** The customer-facing part of a step. */
export type CustomerReminder =
  /** Stripe e-mailed the invoice again (POST /v1/invoices/:id/send). */
  | { kind: 'invoice_sent'; reachedStripe: boolean }
  /** Charged automatically: Stripe's own retries do the reminding; their state is recorded instead of a call. */
  | { kind: 'stripe_retries'; attemptCount: number; nextPaymentAttempt: Date | null; lastDecline: { code: string | null; message: string | null; at: Date } | null };

/**
 * How steps reach Slack. The engine calls it once per side effect and records the returned message;
 * a throw is a failed side effect (retried on the next run, the effects already done are not repeated).
 * `plainTextNotifier` (notifier.ts) is the small plain-text one; the Slack side replaces it with Block Kit.
 */
export interface CollectionsNotifier {
  /** A DM to one person: the account owner or the collections lead (`notice.audience`). */
  dm(userId: string, notice: CollectionsNotice): Promise<SentMessage>;
  /** A post to a channel (collections or finance). */
  postChannel(channelId: string, notice: CollectionsNotice): Promise<SentMessage>;
}

/** The one Stripe call collections makes. */
export interface CollectionsStripe {
  /** False for a stand-in that sends nothing (the demo). */
  readonly reachesStripe: boolean;
  /** POST /v1/invoices/:id/send with `Idempotency-Key: idempotencyKey` (`collections:<invoice>:<step>`). */
  sendInvoice(invoiceId: string, idempotencyKey: string): Promise<{ id: string; status: string | null }>;
}

/** A Stripe client, the narrow interface, or a factory for either (built on first use). */
export type CollectionsStripeSource = CollectionsStripe | (() => CollectionsStripe);

export interface CollectionsRunDeps extends CollectionsDeps {
  stripe: CollectionsStripeSource;
  notifier: CollectionsNotifier;
  /** Names this replica on claimed steps; default BILLOPS_REPLICA_ID or host:pid. */
  workerId?: string;
  /** Who runs it, for the audit log (default the system actor `collections`). */
  actor?: Actor;
  /** `scheduler`, `cli`, `slack`, `demo`. */
  source?: string;
  /** Stops between invoices (claims not started are released). */
  signal?: AbortSignal;
  /** Told about every step outcome as it happens (the demo prints them). */
  onStep?: (outcome: StepOutcome) => void;
}

// --- results ------------------------------------------------------------------------------------

export interface StepOutcome {
  invoiceId: string;
  invoiceNumber: string | null;
  customerId: string | null;
  customerName: string | null;
  segment: string;
  step: { id: string; label: string; kind: StepKind; day: number };
  status: 'done' | 'failed' | 'closed' | 'released';
  amountRemaining: Money;
  daysPastDue: number;
  /** Per side effect: what happened (a message, "invoice sent", "no owner configured" …). */
  effects: Array<{ effect: StepEffect; done: boolean; detail: string; message?: SentMessage }>;
  /** Earlier steps of this invoice passed over by the catch-up rule in this run. */
  skipped: string[];
  error: string | null;
}

export interface CollectionsRunSummary {
  /** The run's day in org.timezone (YYYY-MM-DD). */
  day: string;
  timezone: string;
  /** Open invoices with a step due and not yet done. */
  due: number;
  performed: number;
  failed: number;
  /** Earlier steps passed over because a later one was due (caught up). */
  skipped: number;
  /** Invoices that left collections (paid, voided, written off) found by this run. */
  closed: number;
  /** Invoices with a due step held by a pause (promise to pay, open dispute). */
  paused: number;
  /** Promise-to-pay pauses that lapsed (found and recorded by this run). */
  pausesLapsed: number;
  /** Claimed by this run but not started (shutdown, or paused / paid between claim and perform). */
  released: number;
  outcomes: StepOutcome[];
  durationMs: number;
}

export interface CollectionsPause {
  kind: PauseKind;
  customerId: string;
  /** Promise to pay: the last paused day (YYYY-MM-DD, org.timezone); dunning resumes the day after. Null for a dispute. */
  until: string | null;
  note: string | null;
  /** Who set it (promise to pay), or null. */
  setBy: { id: string; name: string | null } | null;
  setAt: Date | null;
  /** Promise-to-pay id (decimal string) or the dispute id. */
  id: string;
  /** Dispute: its status, amount and evidence deadline. */
  dispute?: { status: string; amount: Money; evidenceDueBy: Date | null };
}

// --- errors ---------------------------------------------------------------------------------------

/** A field the person must fix (customer, until, note): the Slack side shows it on the modal block with this id. */
export class CollectionsInputError extends UserError {
  override readonly name: string = 'CollectionsInputError';
  override readonly field: string;
  constructor(message: string, field: string) {
    super(message, { field });
    this.field = field;
  }
}
