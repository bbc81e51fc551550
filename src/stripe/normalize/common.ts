import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/index.js';
import { UserError, stringifyJson } from '../../util/index.js';
import type { NormalizedObjectType, NormalizedTable } from '../tables.js';

/** The moment a Stripe object's state was true, and what carried it. */
export interface ObjectVersion {
  /** The event's `created`, or the time the object was fetched from the API ("as of now"). */
  at: Date;
  /** The event that carried the state; null for API reads and imports. */
  eventId: string | null;
}

/** A value a normalized column takes; JSON columns get a JSON string. */
export type RowValue = string | number | bigint | boolean | Date | null | string[];
export type Row = Record<string, RowValue>;

/** How to turn one kind of Stripe object into its table row. */
export interface Normalizer<O extends { id: string }> {
  object: NormalizedObjectType;
  table: NormalizedTable;
  schema: z.ZodType<O>;
  /**
   * Progress of the object within one second, used when two versions carry the same `created`
   * (Stripe stamps events in whole seconds; finalize → pay often share one). Higher is later.
   */
  rank(o: O): bigint;
  /** What `raw` keeps, when not the object as received (a balance transaction keeps its source's id only). */
  rawOf?(o: O): unknown;
  /** The table's own columns (not the version columns) for this object. */
  columns(o: O, version: ObjectVersion): Row;
  /** Follow-up writes for objects whose row was written (e.g. an invoice's lines). */
  afterWrite?(db: Kysely<Database>, written: readonly O[]): Promise<void>;
}

/** A Stripe object that does not have the shape billops relies on. */
export class StripeObjectError extends UserError {
  override readonly name: string = 'StripeObjectError';
  constructor(
    readonly objectType: string,
    readonly objectId: string | undefined,
    readonly issues: readonly string[],
  ) {
    super(`Stripe ${objectType} ${objectId ?? '(no id)'} is not shaped as expected: ${issues.join('; ')}`);
  }
}

// --- zod pieces for Stripe's wire JSON ---------------------------------------------------------

export const int = z.number().int();
export const nullableInt = z.number().int().nullable().optional();
export const nullableString = z.string().nullable().optional();
export const unixTime = z.number().int().nullable().optional();
/** An expandable reference: an id, or the expanded object (which has an id). */
export const ref = z
  .union([z.string(), z.looseObject({ id: z.string() })])
  .nullable()
  .optional();
export const metadata = z.record(z.string(), z.unknown()).nullable().optional();

export type Ref = z.infer<typeof ref>;

export function refId(r: Ref): string | null {
  if (r === null || r === undefined) return null;
  return typeof r === 'string' ? r : r.id;
}

export function time(unix: number | null | undefined): Date | null {
  return unix === null || unix === undefined ? null : new Date(unix * 1000);
}

export function big(n: number): bigint;
export function big(n: number | null | undefined): bigint | null;
export function big(n: number | null | undefined): bigint | null {
  return n === null || n === undefined ? null : BigInt(n);
}

export function jsonText(value: unknown): string {
  return stringifyJson(value ?? null);
}

/** Lower-case currency as Stripe writes it → the upper-case code billops stores. */
export function currency(code: string): string {
  return code.trim().toUpperCase();
}

/**
 * A JSON number that is a decimal rate (Stripe's `exchange_rate`) as an exact decimal string. The
 * number is never computed with: its shortest round-trip form is exactly the decimal Stripe wrote
 * for any rate of up to 15 significant digits; an exponent form (1e-7) is spelled out.
 */
export function decimalText(value: number | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const s = typeof value === 'number' ? String(value) : value.trim();
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i.exec(s);
  if (!m) throw new UserError(`"${s}" is not a decimal number`);
  const [, sign = '', whole = '0', frac = '', expText] = m;
  if (expText === undefined) return s;
  const exp = Number(expText);
  const digits = `${whole}${frac}`;
  const point = whole.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = `${digits}${'0'.repeat(point - digits.length)}`;
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.replace(/^0+(?=\d)/, '');
  if (out.includes('.')) out = out.replace(/0+$/, '').replace(/\.$/, '');
  return `${sign}${out}`;
}

/** Rank from an ordered list of statuses (unknown statuses rank lowest). */
export function statusRank(order: Readonly<Record<string, number>>, status: string | null | undefined): bigint {
  return BigInt(status ? (order[status] ?? 0) : 0);
}

/** Parse with a schema and turn zod's issues into a StripeObjectError naming the fields. */
export function parseObject<O>(schema: z.ZodType<O>, objectType: string, value: unknown): O {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const id = typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string' ? (value as { id: string }).id : undefined;
  throw new StripeObjectError(
    objectType,
    id,
    res.error.issues.map((i) => `${i.path.map(String).join('.') || '(object)'}: ${i.message}`),
  );
}
