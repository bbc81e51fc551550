import type { ColumnType, Generated } from 'kysely';
import type { StripeTables } from '../stripe/tables.js';
import type { LedgerTables } from '../ledger/tables.js';
import type { JobsTables } from '../jobs/tables.js';
import type { ApprovalsTables } from '../approvals/tables.js';
import type { CollectionsTables } from '../collections/tables.js';

/** A column Postgres fills (default / identity) that is read back as T. */
export type Defaulted<T> = ColumnType<T, T | undefined, T>;
/** int8 columns come back as bigint; inserts accept bigint. */
export type Int8 = ColumnType<bigint, bigint | number, bigint | number>;
/** jsonb: written as a JSON-safe value, read back parsed. */
export type Json = ColumnType<unknown, string, string>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface AuditLogTable {
  id: Generated<bigint>;
  occurred_at: Timestamp;
  actor_kind: string;
  actor_id: string;
  actor_name: string | null;
  action: string;
  entity_type: string;
  entity_id: string;
  before: Json | null;
  after: Json | null;
  source: string;
  context: Json;
}

/**
 * Every table, as Kysely sees it. Each capability declares its own table interfaces in its folder
 * and they are joined here.
 */
export interface Database extends StripeTables, LedgerTables, JobsTables, ApprovalsTables, CollectionsTables {
  audit_log: AuditLogTable;
}
