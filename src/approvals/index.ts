// Money actions with approvals — public face: request, decide, retry, list; the outbox executor and
// its worker; the credit & adjustment ledger and its check against Stripe's balances.
export {
  APPROVAL_ACTIONS,
  ACTION_LABELS,
  PAUSE_BEHAVIORS,
  REQUEST_STATUSES,
  ApprovalInputError,
  type ApprovalAction,
  type ActionParams,
  type PauseBehavior,
  type RequestStatus,
  type SlackOrigin,
  type ApprovalRequestView,
  type RoleChecker,
  type ApprovalDeps,
  type CreditLedgerEntry,
  type CreditLedger,
} from './types.js';
export {
  MAX_NOTE_LENGTH,
  MAX_TRIAL_DAYS,
  OPEN_STATUSES,
  type DecideOutcome,
  createRequest,
  decide,
  retryRequest,
  getRequest,
  setRequestMessage,
  listAwaitingDecision,
  listOpenRequestsBy,
  expireRequests,
  mayRequest,
  reasonCodes,
} from './requests.js';
export { type PolicyDecision, requiredApprovals } from './policy.js';
export { type BalanceCheckOutcome, type BalanceCheckSummary, creditLedger, checkCreditBalances } from './ledger.js';
export {
  IDEMPOTENCY_SAFE_MS,
  type OutboxDeps,
  type OutboxRunResult,
  type OutboxWorker,
  type StripeSource,
  backoffMs,
  runOutbox,
  startOutboxWorker,
} from './executor.js';
export {
  type ApprovalStripe,
  type CreditTransaction,
  type InvoiceState,
  type StripeLike,
  type SubscriptionChange,
  type SubscriptionState,
  asApprovalStripe,
  localApprovalStripe,
  stripeApprovalClient,
} from './stripe-actions.js';
export { configRoleChecker } from './roles.js';
export { type ApprovalsConfig, DEFAULT_REASON_CODES, approvalsConfigSchema } from './config-schema.js';
