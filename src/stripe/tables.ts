import type { ColumnType, Generated } from 'kysely';
import type { Defaulted, Int8, Json, Timestamp } from '../db/types.js';

/** Where an event row came from. */
export type StripeEventSource = 'webhook' | 'api' | 'demo';
export type StripeEventStatus = 'pending' | 'processing' | 'processed' | 'ignored' | 'failed';

/** The durable event log, which is also the work queue (see queue/worker.ts). */
export interface StripeEventsTable {
  id: string;
  type: string;
  api_version: string | null;
  created: Timestamp;
  /** `data.object.id`: the object the event is about (an invoice's history is its events). */
  object_id: string | null;
  livemode: boolean;
  payload: Json;
  received_at: Timestamp;
  source: Defaulted<StripeEventSource>;
  status: Defaulted<StripeEventStatus>;
  attempts: Defaulted<number>;
  next_attempt_at: Timestamp;
  locked_until: Timestamp | null;
  locked_by: string | null;
  last_error: string | null;
  note: string | null;
  processed_at: Timestamp | null;
}

/** Columns every normalized table has; see migrations/0002_stripe.ts. */
export interface VersionColumns {
  raw: Json;
  version_at: Timestamp;
  version_rank: Int8;
  version_event_id: string | null;
  synced_at: Timestamp;
  changed_at: Timestamp;
}

type JsonDefault = ColumnType<unknown, string | undefined, string>;
type TextArray = ColumnType<string[], string[] | undefined, string[]>;

export interface StripeCustomersTable extends VersionColumns {
  id: string;
  email: string | null;
  name: string | null;
  description: string | null;
  currency: string | null;
  balance: Int8;
  delinquent: boolean | null;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
  deleted_at: Timestamp | null;
}

export interface StripeSubscriptionsTable extends VersionColumns {
  id: string;
  customer_id: string;
  status: string;
  currency: string;
  collection_method: string | null;
  price_id: string | null;
  product_id: string | null;
  plan_interval: string | null;
  plan_interval_count: number | null;
  unit_amount: Int8 | null;
  quantity: Int8 | null;
  items: Json;
  current_period_start: Timestamp | null;
  current_period_end: Timestamp | null;
  trial_start: Timestamp | null;
  trial_end: Timestamp | null;
  cancel_at_period_end: boolean;
  cancel_at: Timestamp | null;
  canceled_at: Timestamp | null;
  ended_at: Timestamp | null;
  pause_behavior: string | null;
  pause_resumes_at: Timestamp | null;
  discounts: JsonDefault;
  latest_invoice_id: string | null;
  start_date: Timestamp | null;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeInvoicesTable extends VersionColumns {
  id: string;
  number: string | null;
  customer_id: string | null;
  subscription_id: string | null;
  status: string | null;
  currency: string;
  amount_due: Int8;
  amount_paid: Int8;
  amount_remaining: Int8;
  subtotal: Int8;
  total: Int8;
  tax: Int8;
  starting_balance: Int8 | null;
  ending_balance: Int8 | null;
  pre_payment_credit_notes_amount: Int8;
  post_payment_credit_notes_amount: Int8;
  collection_method: string | null;
  billing_reason: string | null;
  due_date: Timestamp | null;
  attempt_count: number;
  attempted: boolean;
  next_payment_attempt: Timestamp | null;
  period_start: Timestamp | null;
  period_end: Timestamp | null;
  finalized_at: Timestamp | null;
  paid_at: Timestamp | null;
  voided_at: Timestamp | null;
  marked_uncollectible_at: Timestamp | null;
  /** When Stripe sent `invoice.overdue` (not part of the object; kept across later versions). */
  overdue_at: Timestamp | null;
  deleted_at: Timestamp | null;
  customer_email: string | null;
  customer_name: string | null;
  discounts: JsonDefault;
  hosted_invoice_url: string | null;
  /** False when Stripe's embedded `lines` list said `has_more`: only the first lines are stored. */
  lines_complete: boolean;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeInvoiceLinesTable {
  invoice_id: string;
  id: string;
  /** `subscription` (a subscription item's line) or `invoiceitem`. */
  line_type: string;
  amount: Int8;
  currency: string;
  description: string | null;
  quantity: Int8 | null;
  period_start: Timestamp | null;
  period_end: Timestamp | null;
  proration: boolean;
  price_id: string | null;
  product_id: string | null;
  subscription_id: string | null;
  subscription_item_id: string | null;
  invoice_item_id: string | null;
  discount_amount: Int8;
  raw: Json;
}

export interface StripeInvoicePaymentsTable extends VersionColumns {
  id: string;
  invoice_id: string;
  payment_type: string | null;
  payment_intent_id: string | null;
  charge_id: string | null;
  amount_paid: Int8 | null;
  amount_requested: Int8;
  currency: string;
  status: string;
  is_default: boolean | null;
  paid_at: Timestamp | null;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeChargesTable extends VersionColumns {
  id: string;
  customer_id: string | null;
  payment_intent_id: string | null;
  /** Only API versions before 2025-03-31 put the invoice on the charge; later ones link through invoice payments. */
  invoice_id: string | null;
  amount: Int8;
  amount_captured: Int8;
  amount_refunded: Int8;
  currency: string;
  status: string;
  paid: boolean;
  captured: boolean;
  refunded: boolean;
  disputed: boolean;
  balance_transaction_id: string | null;
  failure_balance_transaction_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  description: string | null;
  payment_method_type: string | null;
  card_brand: string | null;
  card_last4: string | null;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeRefundsTable extends VersionColumns {
  id: string;
  charge_id: string | null;
  payment_intent_id: string | null;
  amount: Int8;
  currency: string;
  status: string | null;
  reason: string | null;
  balance_transaction_id: string | null;
  failure_balance_transaction_id: string | null;
  metadata: JsonDefault;
  created: Timestamp;
}

export interface StripeDisputesTable extends VersionColumns {
  id: string;
  charge_id: string | null;
  payment_intent_id: string | null;
  amount: Int8;
  currency: string;
  status: string;
  reason: string | null;
  evidence_due_by: Timestamp | null;
  is_charge_refundable: boolean | null;
  balance_transaction_ids: TextArray;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeCreditNotesTable extends VersionColumns {
  id: string;
  number: string | null;
  invoice_id: string | null;
  customer_id: string | null;
  status: string;
  type: string | null;
  reason: string | null;
  currency: string;
  amount: Int8;
  subtotal: Int8 | null;
  total: Int8 | null;
  discount_amount: Int8 | null;
  pre_payment_amount: Int8 | null;
  post_payment_amount: Int8 | null;
  out_of_band_amount: Int8 | null;
  customer_balance_transaction_id: string | null;
  refund_ids: TextArray;
  memo: string | null;
  effective_at: Timestamp | null;
  voided_at: Timestamp | null;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeBalanceTransactionsTable extends VersionColumns {
  id: string;
  type: string;
  reporting_category: string;
  amount: Int8;
  fee: Int8;
  net: Int8;
  currency: string;
  /** numeric, read back as a decimal string (never a float). */
  exchange_rate: string | null;
  source_id: string | null;
  /** Object type of the source (`charge`, `refund`, `payout`, `dispute`, …), from the expanded source or its id prefix. */
  source_type: string | null;
  /** The automatic payout that paid this out (from listing the payout's transactions; not part of the object). */
  payout_id: string | null;
  status: string;
  available_on: Timestamp | null;
  description: string | null;
  fee_details: JsonDefault;
  created: Timestamp;
}

export interface StripePayoutsTable extends VersionColumns {
  id: string;
  amount: Int8;
  currency: string;
  status: string;
  arrival_date: Timestamp | null;
  automatic: boolean;
  method: string | null;
  type: string | null;
  balance_transaction_id: string | null;
  failure_balance_transaction_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  destination_id: string | null;
  description: string | null;
  statement_descriptor: string | null;
  reconciliation_status: string | null;
  /** When the backfill last listed this payout's balance transactions (set `payout_id` on them). */
  members_synced_at: Timestamp | null;
  metadata: JsonDefault;
  livemode: boolean;
  created: Timestamp;
}

export interface StripeBackfillRunsTable {
  id: Generated<bigint>;
  since: Timestamp | null;
  status: 'running' | 'completed' | 'interrupted';
  started_at: Timestamp;
  finished_at: Timestamp | null;
  last_error: string | null;
}

export interface StripeBackfillCursorsTable {
  run_id: Int8;
  resource: string;
  starting_after: string | null;
  done: Defaulted<boolean>;
  fetched: Defaulted<bigint>;
  changed: Defaulted<bigint>;
  updated_at: Timestamp;
}

export interface StripeReportImportsTable {
  id: Generated<bigint>;
  file_name: string;
  sha256: string;
  row_count: number;
  imported_at: Timestamp;
  imported_by: string;
}

export interface StripeReportRowsTable {
  balance_transaction_id: string;
  import_id: Int8;
  line: number;
  created: Timestamp;
  available_on: Timestamp | null;
  currency: string;
  gross: Int8;
  fee: Int8;
  net: Int8;
  reporting_category: string;
  source_id: string | null;
  description: string | null;
  customer_facing_amount: Int8 | null;
  customer_facing_currency: string | null;
  automatic_payout_id: string | null;
  customer_id: string | null;
  customer_email: string | null;
  customer_name: string | null;
  invoice_id: string | null;
  invoice_number: string | null;
  subscription_id: string | null;
  charge_id: string | null;
  payment_intent_id: string | null;
  /** Every cell of the row by column name, extra columns included. */
  columns: Json;
}

export interface StripeTables {
  stripe_events: StripeEventsTable;
  stripe_customers: StripeCustomersTable;
  stripe_subscriptions: StripeSubscriptionsTable;
  stripe_invoices: StripeInvoicesTable;
  stripe_invoice_lines: StripeInvoiceLinesTable;
  stripe_invoice_payments: StripeInvoicePaymentsTable;
  stripe_charges: StripeChargesTable;
  stripe_refunds: StripeRefundsTable;
  stripe_disputes: StripeDisputesTable;
  stripe_credit_notes: StripeCreditNotesTable;
  stripe_balance_transactions: StripeBalanceTransactionsTable;
  stripe_payouts: StripePayoutsTable;
  stripe_backfill_runs: StripeBackfillRunsTable;
  stripe_backfill_cursors: StripeBackfillCursorsTable;
  stripe_report_imports: StripeReportImportsTable;
  stripe_report_rows: StripeReportRowsTable;
}

/** The normalized tables that carry VersionColumns, keyed by the Stripe `object` they hold. */
export const NORMALIZED_TABLES = {
  customer: 'stripe_customers',
  subscription: 'stripe_subscriptions',
  invoice: 'stripe_invoices',
  invoice_payment: 'stripe_invoice_payments',
  charge: 'stripe_charges',
  refund: 'stripe_refunds',
  dispute: 'stripe_disputes',
  credit_note: 'stripe_credit_notes',
  balance_transaction: 'stripe_balance_transactions',
  payout: 'stripe_payouts',
} as const;

export type NormalizedObjectType = keyof typeof NORMALIZED_TABLES;
export type NormalizedTable = (typeof NORMALIZED_TABLES)[NormalizedObjectType];
