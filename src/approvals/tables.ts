import type { ColumnType, Generated } from 'kysely';
import type { Defaulted, Int8, Json, Timestamp } from '../db/types.js';

type JsonDefault = ColumnType<unknown, string | undefined, string>;
type TextArray = ColumnType<string[], string[] | undefined, string[]>;

/** See migrations/0009_approvals.ts. */
export interface ApprovalRequestsTable {
  id: Generated<bigint>;
  action: string;
  params: Json;
  /** The object acted on: customer, subscription, invoice or exception id. */
  target_id: string;
  customer_id: string;
  customer_label: string;
  amount: Int8 | null;
  currency: string | null;
  title: string;
  status: string;
  required_approvals: number;
  policy_note: string | null;
  requested_by: string;
  requested_by_name: string | null;
  requested_origin: JsonDefault;
  requested_at: Timestamp;
  expires_at: Timestamp;
  approved_at: Timestamp | null;
  rejected_by: string | null;
  rejection_reason: string | null;
  rejected_at: Timestamp | null;
  attempts: Defaulted<number>;
  next_attempt_at: Timestamp | null;
  last_error: string | null;
  stripe_object_id: string | null;
  executed_at: Timestamp | null;
  result: Json | null;
  message_channel: string | null;
  message_ts: string | null;
  updated_at: Timestamp;
  version: Defaulted<number>;
}

export interface ApprovalDecisionsTable {
  request_id: Int8;
  user_id: string;
  user_name: string | null;
  decision: 'approve' | 'reject';
  reason: string | null;
  origin: JsonDefault;
  decided_at: Timestamp;
}

export type OutboxStatus = 'queued' | 'running' | 'done' | 'failed';

export interface ApprovalOutboxTable {
  request_id: Int8;
  action: string;
  idempotency_key: string;
  status: OutboxStatus;
  attempts: Defaulted<number>;
  next_attempt_at: Timestamp;
  locked_until: Timestamp | null;
  locked_by: string | null;
  first_attempt_at: Timestamp | null;
  last_attempt_at: Timestamp | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreditLedgerTable {
  id: Generated<bigint>;
  customer_id: string;
  kind: 'opening' | 'credit';
  /** Credit the customer holds, minor units: a credit is positive. */
  amount: Int8;
  currency: string;
  reason_code: string | null;
  note: string | null;
  request_id: Int8 | null;
  requested_by: string | null;
  approved_by: TextArray;
  stripe_balance_transaction_id: string | null;
  /** Stripe's customer balance right after this credit (negative = credit held). */
  stripe_ending_balance: Int8 | null;
  occurred_at: Timestamp;
}

export interface ApprovalsTables {
  approval_requests: ApprovalRequestsTable;
  approval_decisions: ApprovalDecisionsTable;
  approval_outbox: ApprovalOutboxTable;
  credit_ledger: CreditLedgerTable;
}
