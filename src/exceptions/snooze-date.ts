import { UserError } from '../util/index.js';
import { MAX_SNOOZE_DAYS } from './service.js';

/**
 * Snoozing "until a date" as a person picks it in Slack: the date is a day in the organisation's
 * time zone, and the exception wakes at the start of that day there. It must be after today (in that
 * zone) and at most MAX_SNOOZE_DAYS days ahead.
 */

const DAY_MS = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` of `at` in `timeZone`. */
export function dayIn(timeZone: string, at: Date): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Milliseconds `timeZone` is ahead of UTC at `at`. */
function offsetMs(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? '0');
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant a calendar day starts in `timeZone`. */
export function startOfDayIn(timeZone: string, day: string): Date {
  const m = ISO_DAY.exec(day);
  if (!m) throw new UserError(`"${day}" is not a date (YYYY-MM-DD).`, { field: 'until' });
  const midnightUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Two passes: the offset at the guess can differ from the offset at the answer across a DST change.
  let at = midnightUtc - offsetMs(timeZone, new Date(midnightUtc));
  at = midnightUtc - offsetMs(timeZone, new Date(at));
  return new Date(at);
}

function daysBetween(from: string, to: string): number {
  const utc = (d: string) => {
    const m = ISO_DAY.exec(d);
    return Date.UTC(Number(m?.[1]), Number(m?.[2]) - 1, Number(m?.[3]));
  };
  return Math.round((utc(to) - utc(from)) / DAY_MS);
}

/**
 * The instant to snooze until for a picked date, or a UserError (field `until`) that says what is
 * allowed: a day after today and no more than MAX_SNOOZE_DAYS days ahead, both in `timeZone`.
 */
export function snoozeUntilDay(day: string | null | undefined, timeZone: string, now: Date): Date {
  if (!day) throw new UserError('Pick the day the exception should come back.', { field: 'until' });
  const m = ISO_DAY.exec(day);
  const valid = m !== null && dayIn('UTC', new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))) === day;
  if (!valid) throw new UserError(`"${day}" is not a date (YYYY-MM-DD).`, { field: 'until' });
  const today = dayIn(timeZone, now);
  const ahead = daysBetween(today, day);
  if (ahead < 1) throw new UserError(`Pick a day after today (${today}, ${timeZone}).`, { field: 'until' });
  if (ahead > MAX_SNOOZE_DAYS) {
    const last = dayIn('UTC', new Date(Date.UTC(Number(today.slice(0, 4)), Number(today.slice(5, 7)) - 1, Number(today.slice(8, 10)) + MAX_SNOOZE_DAYS)));
    throw new UserError(`An exception can be snoozed for at most ${MAX_SNOOZE_DAYS} days: pick ${last} or earlier.`, { field: 'until' });
  }
  return startOfDayIn(timeZone, day);
}
