// Accounts — public face: find a customer by id, email or name, and the account card (plan, MRR,
// balance, open invoices, failed payments, disputes, exceptions, timeline) as plain data.
export {
  type AccountMatch,
  type AccountSearch,
  type AccountSearchKind,
  DEFAULT_MATCH_LIMIT,
  MAX_QUERY_LENGTH,
  findAccounts,
  searchKind,
} from './find-accounts.js';
export {
  type AccountBalance,
  type AccountCard,
  type AccountCardOptions,
  type AccountCustomer,
  type AccountDispute,
  type AccountSubscription,
  type FailedPayment,
  type InvoicePaymentStatus,
  type MrrExclusion,
  type OpenInvoice,
  type TimelineEvent,
  type TimelineKind,
  AccountNotFoundError,
  CARD_LIST_LIMIT,
  OPEN_DISPUTE_STATUSES,
  TIMELINE_LENGTH,
  accountCard,
} from './account-card.js';
export { type BillingInterval, MRR_STATUSES, isBillingInterval, monthlyAmount, sumByCurrency } from './mrr.js';
