import { dayIn } from '../exceptions/index.js';

/**
 * Calendar days as `YYYY-MM-DD` strings, in the organisation's time zone. Dunning is counted in
 * whole days from the due day, never in 24-hour periods, so a DST change moves nothing.
 */

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function utcOf(day: string): number {
  const m = ISO_DAY.exec(day);
  if (!m) throw new Error(`not a day: ${day}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not). */
export function isDay(text: string): boolean {
  const m = ISO_DAY.exec(text);
  if (!m) return false;
  return new Date(utcOf(text)).toISOString().slice(0, 10) === text;
}

/** Today in `timeZone` at `at`. */
export function today(timeZone: string, at: Date): string {
  return dayIn(timeZone, at);
}

export function addDays(day: string, n: number): string {
  return new Date(utcOf(day) + n * 86_400_000).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((utcOf(to) - utcOf(from)) / 86_400_000);
}
