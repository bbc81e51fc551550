/**
 * Date formats as people write them in billops.yml: `MM/DD/YYYY`, `DD MMM YYYY`, `DD.MM.YYYY`,
 * `YYYY-MM-DD`. Each format compiles once to a regular expression; parsing a cell is one `exec` and a
 * calendar check, which matters when a million rows go through.
 *
 * Tokens: `YYYY` (or `yyyy`) four-digit year, `YY` two-digit year (20YY), `MM`/`M` month number,
 * `DD`/`D` (or `dd`/`d`) day, `MMM`/`MMMM` English month name (Sep, Sept, September). Number tokens
 * accept one or two digits either way, so `9/2/2026` reads under `MM/DD/YYYY`. Anything else that is not
 * a letter is a literal; a space matches one or more spaces.
 */

export interface DateParser {
  /** `YYYY-MM-DD`, or null when the text is not a real date in this format. */
  parse(text: string): string | null;
  /** The format(s) for error messages, e.g. `MM/DD/YYYY`. */
  readonly expected: string;
}

const TOKEN = /^(YYYY|yyyy|YY|yy|MMMM|MMM|MM|M|DD|dd|D|d)/;

const MONTHS: ReadonlyMap<string, number> = (() => {
  const names = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
  const m = new Map<string, number>();
  names.forEach((name, i) => {
    m.set(name, i + 1);
    m.set(name.slice(0, 3), i + 1);
  });
  m.set('sept', 9);
  return m;
})();

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  if (month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month - 1] ?? 0;
}

type Part = 'year4' | 'year2' | 'month' | 'monthName' | 'day';

/** Compile one format; throws an Error naming the problem when the format itself is wrong. */
export function compileDateFormat(format: string): DateParser {
  const parts: Part[] = [];
  let source = '^';
  let rest = format.trim();
  if (rest === '') throw new Error('date format is empty');
  while (rest.length > 0) {
    const tok = TOKEN.exec(rest);
    if (tok?.[1]) {
      const t = tok[1];
      const upper = t.toUpperCase();
      if (upper === 'YYYY') {
        parts.push('year4');
        source += '(\\d{4})';
      } else if (upper === 'YY') {
        parts.push('year2');
        source += '(\\d{2})';
      } else if (t === 'MMMM' || t === 'MMM') {
        parts.push('monthName');
        source += '([A-Za-z]{3,9})\\.?';
      } else if (t === 'MM' || t === 'M') {
        parts.push('month');
        source += '(\\d{1,2})';
      } else {
        parts.push('day');
        source += '(\\d{1,2})';
      }
      rest = rest.slice(t.length);
      continue;
    }
    const ch = rest[0] ?? '';
    if (/[A-Za-z]/.test(ch)) {
      throw new Error(
        `date format "${format}" has "${ch}" where a token was expected (use YYYY, YY, MM, M, DD, D, MMM; "mm" would mean minutes)`,
      );
    }
    source += /\s/.test(ch) ? '\\s+' : ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    rest = rest.slice(1);
  }
  source += '$';
  const count = (p: Part | Part[]) => parts.filter((x) => (Array.isArray(p) ? p.includes(x) : x === p)).length;
  if (count(['year4', 'year2']) !== 1 || count(['month', 'monthName']) !== 1 || count('day') !== 1) {
    throw new Error(`date format "${format}" must have exactly one year, one month and one day (e.g. MM/DD/YYYY)`);
  }
  const re = new RegExp(source);
  const yearAt = parts.findIndex((p) => p === 'year4' || p === 'year2') + 1;
  const monthAt = parts.findIndex((p) => p === 'month' || p === 'monthName') + 1;
  const dayAt = parts.indexOf('day') + 1;
  const twoDigitYear = parts.includes('year2');
  const namedMonth = parts.includes('monthName');
  const expected = format.trim();

  return {
    expected,
    parse(text: string): string | null {
      const m = re.exec(text);
      if (!m) return null;
      let year = Number(m[yearAt]);
      if (twoDigitYear) year += 2000;
      const monthText = m[monthAt] ?? '';
      const month = namedMonth ? (MONTHS.get(monthText.toLowerCase()) ?? 0) : Number(monthText);
      const day = Number(m[dayAt]);
      if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || year < 1900) return null;
      return `${year}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
    },
  };
}

/** Several accepted formats, tried in order; the first that reads the text wins. */
export function compileDateFormats(formats: readonly string[]): DateParser {
  if (formats.length === 0) throw new Error('at least one date format is needed');
  const parsers = formats.map(compileDateFormat);
  if (parsers.length === 1) return parsers[0] as DateParser;
  return {
    expected: parsers.map((p) => p.expected).join(' or '),
    parse(text: string): string | null {
      for (const p of parsers) {
        const d = p.parse(text);
        if (d !== null) return d;
      }
      return null;
    },
  };
}

/** Problem with a date format string, or null when it compiles (for config validation). */
export function dateFormatProblem(format: string): string | null {
  try {
    compileDateFormat(format);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
