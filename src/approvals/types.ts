import type { Kysely } from 'kysely';
import type { Config } from '../config/index.js';
import type { Database } from '../db/index.js';
import { type Clock, type Logger, UserError } from '../util/index.js';

export const APPROVAL_ACTIONS = [
  'credit',
  'extend_trial',
  'pause_collection',
  'resume_collection',
  'cancel_at_period_end',
  'undo_cancel',
  'void_invoice',
  'mark_uncollectible',
  'resolve_exception',
] as const;
export type ApprovalAction = (typeof APPROVAL_ACTIONS)[number];

export const ACTION_LABELS: Record<ApprovalAction, string> = {
  credit: 'Apply credit',
  extend_trial: 'Extend trial',
  pause_collection: 'Pause collection',
  resume_collection: 'Resume collection',
  cancel_at_period_end: 'Cancel at period end',
  undo_cancel: 'Undo cancellation',
  void_invoice: 'Void invoice',
  mark_uncollectible: 'Write off invoice (uncollectible)',
  resolve_exception: 'Resolve exception',
};

export const PAUSE_BEHAVIORS = ['keep_as_draft', 'mark_uncollectible', 'void'] as const;
export type PauseBehavior = (typeof PAUSE_BEHAVIORS)[number];

export type ActionParams =
  | { action: 'credit'; customerId: string; amount: bigint; currency: string; reasonCode: string; note: string }
  /** New trial end; applied without proration. */
  | { action: 'extend_trial'; subscriptionId: string; trialEnd: Date; note: string }
  | { action: 'pause_collection'; subscriptionId: string; behavior: PauseBehavior; resumesAt: Date | null; note: string }
  | { action: 'resume_collection'; subscriptionId: string; note: string }
  | { action: 'cancel_at_period_end'; subscriptionId: string; note: string }
  | { action: 'undo_cancel'; subscriptionId: string; note: string }
  | { action: 'void_invoice'; invoiceId: string; note: string }
  | { action: 'mark_uncollectible'; invoiceId: string; note: string }
  | { action: 'resolve_exception'; exceptionId: string; resolutionCode: string; note: string };

export const REQUEST_STATUSES = ['pending', 'approved', 'executing', 'executed', 'failed', 'rejected', 'expired'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** Who did something, from where (goes to the audit log context). */
export interface SlackOrigin {
  userId: string;
  userName?: string;
  teamId?: string;
  channelId?: string;
  messageTs?: string;
}

export interface ApprovalRequestView {
  /** bigint id as a decimal string. */
  id: string;
  action: ApprovalAction;
  params: ActionParams;
  customerId: string;
  /** Name, email or id, for display. */
  customerLabel: string;
  /** Money moved or at stake (credit amount, invoice amount due, exception amount), if any. */
  amount: { amount: bigint; currency: string } | null;
  /** One line: "Credit $250.00 to Globex (Goodwill)". */
  title: string;
  status: RequestStatus;
  requiredApprovals: 0 | 1 | 2;
  /** Why the policy chose this, when it is not obvious (e.g. no FX rate: the strictest band applied). */
  policyNote?: string | null;
  requestedBy: SlackOrigin;
  requestedAt: Date;
  expiresAt: Date;
  approvals: Array<{ userId: string; at: Date }>;
  rejection: { userId: string; reason: string; at: Date } | null;
  execution: { attempts: number; nextAttemptAt: Date | null; lastError: string | null; stripeObjectId: string | null; executedAt: Date | null };
  /** The approvals-channel message, once posted (stored via setRequestMessage). */
  message: { channel: string; ts: string } | null;
}

/**
 * Whether a Slack user holds a role from `roles:` (admin holds all). The Slack side supplies one
 * backed by usergroups.users.list; `configRoleChecker` (roles.ts) is the plain-ids version.
 */
export type RoleChecker = (userId: string, role: 'requester' | 'approver' | 'admin') => Promise<boolean>;

export interface ApprovalDeps {
  db: Kysely<Database>;
  config: Config;
  clock: Clock;
  logger: Logger;
  roles: RoleChecker;
}

/** A field the person must fix; the Slack side shows it with response_action:'errors' on the block with this id. */
export class ApprovalInputError extends UserError {
  override readonly name: string = 'ApprovalInputError';
  override readonly field: string;
  constructor(message: string, field: string) {
    super(message, { field });
    this.field = field;
  }
}

/** One line of a customer's credit & adjustment ledger. */
export interface CreditLedgerEntry {
  /** `credit` (applied through an approval), `opening` (Stripe's balance before billops' first credit), `invoice` (credit consumed by an invoice). */
  kind: 'opening' | 'credit' | 'invoice';
  at: Date;
  /** Credit the customer holds, in minor units: a credit is positive, credit used up by an invoice negative. */
  amount: bigint;
  currency: string;
  /** Running credit balance in this currency after this entry. */
  balanceAfter: bigint;
  reasonCode: string | null;
  reasonLabel: string | null;
  note: string | null;
  requestId: string | null;
  requestedBy: string | null;
  approvedBy: string[];
  /** `cbtxn_…` for a credit, `in_…` for an invoice. */
  stripeId: string | null;
}

export interface CreditLedger {
  entries: CreditLedgerEntry[];
  /** Running balance per currency (credit the customer holds, positive). */
  balanceByCurrency: Array<{ currency: string; amount: bigint }>;
  /** Stripe's customer balance as stored (negative = credit the customer holds), in the customer's currency. */
  stripeBalance: { amount: bigint; currency: string } | null;
  /** The ledger's balance in the customer's currency disagrees with Stripe's (sign-adjusted). */
  mismatch: boolean;
}
