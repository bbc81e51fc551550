import type { ColumnType, Generated } from 'kysely';
import type { Defaulted, Int8, Timestamp } from '../db/types.js';

type JsonDefault = ColumnType<unknown, string | undefined, string>;
type TextArray = ColumnType<string[], string[] | undefined, string[]>;
/** `date` columns are read back as 'YYYY-MM-DD' strings (src/db/connect.ts). */
type Day = ColumnType<string, string, string>;

/** See migrations/0011_collections.ts. */
export interface CollectionStepsTable {
  invoice_id: string;
  step_id: string;
  segment: string;
  customer_id: string | null;
  step_day: number;
  step_kind: string;
  due_on: Day;
  status: string;
  idempotency_key: string;
  attempts: Defaulted<number>;
  effects_done: TextArray;
  result: JsonDefault;
  reason: string | null;
  last_error: string | null;
  amount_remaining: Int8 | null;
  currency: string | null;
  lease_until: Timestamp | null;
  locked_by: string | null;
  /** The day (org time zone) the step was last claimed: when it was performed, or its latest attempt. */
  claimed_on: Day;
  claimed_at: Timestamp;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface CollectionExitsTable {
  invoice_id: string;
  customer_id: string | null;
  status: string | null;
  amount_remaining: Int8 | null;
  currency: string | null;
  via: string;
  left_at: Timestamp;
}

export interface CollectionPausesTable {
  id: Generated<bigint>;
  customer_id: string;
  until_day: Day;
  note: string;
  set_by: string;
  set_by_name: string | null;
  source: string;
  created_at: Timestamp;
  cleared_at: Timestamp | null;
  cleared_by: string | null;
  clear_note: string | null;
  lapsed_at: Timestamp | null;
}

export interface CollectionsTables {
  collection_steps: CollectionStepsTable;
  collection_exits: CollectionExitsTable;
  collection_pauses: CollectionPausesTable;
}
