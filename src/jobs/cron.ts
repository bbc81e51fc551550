import cron from 'node-cron';

/**
 * A tick's fire time: the scheduled instant truncated to the whole second (cron's resolution, the
 * sixth field being seconds), so every replica derives the same value whenever it woke up.
 */
export function fireTimeOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/** `reconcile:2026-11-02T11:00:00.000Z`: the same string on every replica for the same tick. */
export function fireKey(jobName: string, fireTime: Date): string {
  return `${jobName}:${fireTimeOf(fireTime).toISOString()}`;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(timeZone, f);
  }
  return f;
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock reading in `timeZone` at `at`. */
export function localParts(at: Date, timeZone: string): LocalParts {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts['year'] ?? 0,
    month: parts['month'] ?? 0,
    day: parts['day'] ?? 0,
    hour: parts['hour'] ?? 0,
    minute: parts['minute'] ?? 0,
    second: parts['second'] ?? 0,
  };
}

/** The instant at which the wall clock in `timeZone` reads the given time (DST gaps move it forward). */
function zonedInstant(p: LocalParts, timeZone: string): Date {
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const offsetAt = (t: number) => {
    const l = localParts(new Date(t), timeZone);
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - t;
  };
  const first = asUtc - offsetAt(asUtc);
  const second = asUtc - offsetAt(first);
  return new Date(second);
}

function before(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/** Days searched ahead: a `29 2` schedule fires once in four years. */
const MAX_DAYS_AHEAD = 8 * 366;

/**
 * The schedule's fire times strictly after `after`, in order, as node-cron decides them: the
 * candidate wall-clock times come from node-cron's own parser and each one is checked with its
 * matcher in the time zone. Computed from the given instant (the injected clock), not the machine's.
 */
export function nextFireTimes(expression: string, timeZone: string, after: Date, count = 1): Date[] {
  const fields = cron.parse(expression);
  const seconds = [...fields.second].sort((a, b) => a - b);
  const minutes = [...fields.minute].sort((a, b) => a - b);
  const hours = [...fields.hour].sort((a, b) => a - b);
  const months = new Set(fields.month);
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    const out: Date[] = [];
    let from = after;
    const start = localParts(after, timeZone);
    for (let d = 0; d < MAX_DAYS_AHEAD && out.length < count; d++) {
      const day = new Date(Date.UTC(start.year, start.month - 1, start.day + d));
      const ymd = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
      if (!months.has(ymd.month)) continue;
      // The day's first candidate tells whether the day fields match (unless it falls in a DST gap).
      const probe = { ...ymd, hour: hours[0] ?? 0, minute: minutes[0] ?? 0, second: seconds[0] ?? 0 };
      const probeAt = zonedInstant(probe, timeZone);
      if (!task.match(probeAt) && localParts(probeAt, timeZone).hour === probe.hour) continue;
      const floor = localParts(from, timeZone);
      const sameDay = floor.year === ymd.year && floor.month === ymd.month && floor.day === ymd.day;
      for (const hour of hours) {
        if (sameDay && hour < floor.hour) continue;
        for (const minute of minutes) {
          if (sameDay && before([hour, minute], [floor.hour, floor.minute])) continue;
          for (const second of seconds) {
            if (sameDay && !before([floor.hour, floor.minute, floor.second], [hour, minute, second])) continue;
            const at = zonedInstant({ ...ymd, hour, minute, second }, timeZone);
            if (at.getTime() <= from.getTime() || !task.match(at)) continue;
            out.push(at);
            from = at;
            if (out.length >= count) return out;
          }
        }
      }
    }
    return out;
  } finally {
    void task.destroy();
  }
}

/** The next fire time after `after`, or null when the schedule never fires again. */
export function nextFireTime(expression: string, timeZone: string, after: Date): Date | null {
  return nextFireTimes(expression, timeZone, after, 1)[0] ?? null;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function pad(n: string): string {
  return n.padStart(2, '0');
}

function daysInWords(dow: string): string | null {
  if (dow === '*' || dow === '?') return 'every day';
  if (dow === '1-5' || dow.toLowerCase() === 'mon-fri') return 'weekdays';
  if (dow === '0,6' || dow === '6,0' || dow.toLowerCase() === 'sat,sun') return 'weekends';
  const names = dow.split(',').map((d) => (/^[0-7]$/.test(d) ? DAY_NAMES[Number(d) % 7] : null));
  if (names.every((n) => n !== null)) return `every ${names.join(', ')}`;
  return null;
}

/**
 * A cron expression in words for the common shapes ("weekdays at 08:30", "every 6 hours at :15"),
 * null for anything else (the expression itself is always shown next to it).
 */
export function describeCron(expression: string): string | null {
  const f = expression.trim().split(/\s+/);
  const [sec, min, hour, dom, mon, dow] = f.length === 6 ? f : ['0', ...f];
  if (!sec || !min || !hour || !dom || !mon || !dow || f.length < 5) return null;
  const int = /^\d{1,2}$/;
  const step = (s: string) => /^\*\/(\d+)$/.exec(s)?.[1];
  if (dom !== '*' || mon !== '*') return null;
  const days = daysInWords(dow);
  if (!days) return null;
  const onDays = days === 'every day' ? '' : ` on ${days}`;
  if (sec !== '0') {
    if (min !== '*' || hour !== '*') return null;
    if (sec === '*') return `every second${onDays}`;
    const s = step(sec);
    return s ? `every ${s} seconds${onDays}` : null;
  }
  if (int.test(min) && int.test(hour)) return `${days} at ${pad(hour)}:${pad(min)}`;
  if (int.test(min) && hour === '*') return `every hour at :${pad(min)}${onDays}`;
  const h = step(hour);
  if (int.test(min) && h) return `every ${h} hours at :${pad(min)}${onDays}`;
  if (min === '*' && hour === '*') return `every minute${onDays}`;
  const m = step(min);
  if (m && hour === '*') return `every ${m} minutes${onDays}`;
  return null;
}
