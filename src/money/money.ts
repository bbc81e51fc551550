import { Decimal } from 'decimal.js';
import { UserError } from '../util/index.js';
import { CURRENCY_SYMBOLS, currencyExponent, currencySymbol, normalizeCurrency } from './currency.js';

/** An amount in the currency's minor unit (cents, yen, fils). Never a float. */
export interface Money {
  readonly amount: bigint;
  readonly currency: string;
}

/** Decimal configured once for money work; no float ever reaches it. */
const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 60 });
export type Rounding = 'half_even' | 'half_up' | 'down' | 'up' | 'floor' | 'ceil';
const ROUNDING: Record<Rounding, Decimal.Rounding> = {
  half_even: Decimal.ROUND_HALF_EVEN,
  half_up: Decimal.ROUND_HALF_UP,
  down: Decimal.ROUND_DOWN,
  up: Decimal.ROUND_UP,
  floor: Decimal.ROUND_FLOOR,
  ceil: Decimal.ROUND_CEIL,
};

/** Largest amount billops accepts anywhere: Stripe's own ceiling is 99,999,999.99 USD-equivalent. */
export const MAX_MINOR_UNITS = 10n ** 15n;

export class MoneyError extends UserError {
  override readonly name: string = 'MoneyError';
}

export function money(amount: bigint | number | string, currency: string): Money {
  const a = typeof amount === 'bigint' ? amount : BigInt(amount);
  return { amount: a, currency: normalizeCurrency(currency) };
}

const PLAIN_DECIMAL = /^[+-]?(\d+)(?:\.(\d+))?$/;

function toMinor(text: string, currency: string, what: string, rounding?: Rounding): bigint {
  const exp = currencyExponent(currency);
  const m = PLAIN_DECIMAL.exec(text);
  if (!m) throw new MoneyError(`${what} "${text}" is not a number`);
  const decimals = m[2]?.length ?? 0;
  let d = new D(text).times(new D(10).pow(exp));
  if (decimals > exp) {
    if (!rounding) {
      throw new MoneyError(
        exp === 0
          ? `${what} "${text}" has decimals, but ${currency} has no minor unit`
          : `${what} "${text}" has ${decimals} decimals, but ${currency} has ${exp}`,
      );
    }
    d = d.toDecimalPlaces(0, ROUNDING[rounding]);
  }
  const minor = BigInt(d.toFixed(0));
  if (minor > MAX_MINOR_UNITS || minor < -MAX_MINOR_UNITS) {
    throw new MoneyError(`${what} "${text}" is larger than billops accepts`);
  }
  return minor;
}

/**
 * A machine-written major-unit decimal ("1234.50", "-0.5", "500") — Stripe report CSVs, config files —
 * into minor units. No grouping separators, no symbols, no exponent. More decimals than the currency
 * has is an error unless a rounding mode is given.
 */
export function decimalToMinor(text: string, currency: string, opts: { rounding?: Rounding } = {}): bigint {
  return toMinor(text.trim(), currency, 'Amount', opts.rounding);
}

export interface LedgerAmountOptions {
  /** `.` (1,234.56) or `,` (1.234,56). */
  decimalSeparator?: '.' | ',';
  rounding?: Rounding;
}

/**
 * An amount as accounting exports write it: thousands separators, parenthesised negatives
 * "(1,234.56)", a trailing minus "1234.56-", a leading currency symbol or code. Empty → null.
 */
export function ledgerAmountToMinor(raw: string, currency: string, opts: LedgerAmountOptions = {}): bigint | null {
  let s = raw.trim();
  if (s === '' || s === '-' || s === '—') return null;
  let negative = false;
  if (/^\(.*\)$/.test(s)) {
    negative = true;
    s = s.slice(1, -1).trim();
  }
  if (s.endsWith('-')) {
    negative = !negative;
    s = s.slice(0, -1).trim();
  }
  if (s.startsWith('-')) {
    negative = !negative;
    s = s.slice(1).trim();
  } else if (s.startsWith('+')) {
    s = s.slice(1).trim();
  }
  s = stripCurrencyMark(s);
  if (s.startsWith('-')) {
    negative = !negative;
    s = s.slice(1).trim();
  }
  const dec = opts.decimalSeparator ?? '.';
  const group = dec === '.' ? ',' : '.';
  const groupRe = dec === '.' ? /^\d{1,3}(,\d{3})+(\.\d+)?$/ : /^\d{1,3}(\.\d{3})+(,\d+)?$/;
  const spaceGroupRe = /^\d{1,3}([  ']\d{3})+([.,]\d+)?$/;
  let plain: string;
  if (spaceGroupRe.test(s)) {
    plain = s.replace(/[  ']/g, '').replace(',', '.');
  } else if (s.includes(group)) {
    if (!groupRe.test(s)) throw new MoneyError(`Amount "${raw.trim()}" is not a number`);
    plain = s.split(group).join('').replace(dec, '.');
  } else {
    plain = dec === ',' ? s.replace(',', '.') : s;
  }
  if (!PLAIN_DECIMAL.test(plain)) throw new MoneyError(`Amount "${raw.trim()}" is not a number`);
  const minor = toMinor(plain, currency, 'Amount', opts.rounding);
  return negative ? -minor : minor;
}

function stripCurrencyMark(s: string): string {
  for (const [sym] of CURRENCY_SYMBOLS) {
    if (s.startsWith(sym)) return s.slice(sym.length).trim();
  }
  const code = /^([A-Z]{3})\s*(.*)$/.exec(s);
  if (code?.[2] && /^[\d(-]/.test(code[2])) return code[2];
  const trailing = /^(.*?)\s*([A-Z]{3})$/.exec(s);
  if (trailing?.[1] && /\d$/.test(trailing[1])) return trailing[1];
  return s;
}

export interface UserAmountOptions {
  /** Currency when the person typed no symbol or code. */
  currency?: string;
  /** Zero and negative amounts are refused unless allowed. */
  allowZero?: boolean;
  allowNegative?: boolean;
}

/**
 * What a person types in Slack: "1,234.50", "$5", "¥500", "1.250 BHD", "EUR 12". Strict on purpose:
 * a typed amount that could mean two things is refused rather than guessed ("1.234,50", "1,23",
 * "1e3", "5.001" for USD).
 */
export function parseUserAmount(input: string, opts: UserAmountOptions = {}): Money {
  const raw = input.trim();
  if (raw === '') throw new MoneyError('Amount is empty', { field: 'amount' });
  let s = raw;
  let currency: string | undefined;
  let negative = false;
  if (s.startsWith('-')) {
    negative = true;
    s = s.slice(1).trim();
  }
  for (const [sym, code] of CURRENCY_SYMBOLS) {
    if (s.startsWith(sym)) {
      currency = code;
      s = s.slice(sym.length).trim();
      break;
    }
  }
  const leadCode = /^([A-Za-z]{3})\s+(.+)$/.exec(s);
  const trailCode = /^(.+?)\s*([A-Za-z]{3})$/.exec(s);
  if (!currency && leadCode?.[1] && leadCode[2]) {
    currency = leadCode[1].toUpperCase();
    s = leadCode[2];
  } else if (trailCode?.[1] && trailCode[2] && /\d$/.test(trailCode[1])) {
    const code = trailCode[2].toUpperCase();
    if (currency && currency !== code && !(currency === 'USD' && raw.includes('$'))) {
      throw new MoneyError(`Amount "${raw}" names two currencies`, { field: 'amount' });
    }
    currency = code;
    s = trailCode[1];
  }
  if (s.startsWith('-')) {
    negative = !negative;
    s = s.slice(1).trim();
  }
  currency ??= opts.currency;
  if (!currency) {
    throw new MoneyError(`Amount "${raw}" needs a currency (e.g. "USD 12.50" or "$12.50")`, { field: 'amount' });
  }
  currency = normalizeCurrency(currency);
  if (opts.currency && normalizeCurrency(opts.currency) !== currency && raw !== s) {
    // The person typed a currency different from the one the form is for.
    throw new MoneyError(`Amount "${raw}" is in ${currency}, but this is a ${normalizeCurrency(opts.currency)} amount`, {
      field: 'amount',
    });
  }
  if (/[eE]/.test(s) || /^\./.test(s) || /\.$/.test(s)) {
    throw new MoneyError(`Amount "${raw}" is not a plain number; write it like 1,234.50`, { field: 'amount' });
  }
  let plain: string;
  if (s.includes(',')) {
    if (!/^\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) {
      throw new MoneyError(`Amount "${raw}" is ambiguous; write it like 1,234.50 (comma for thousands, point for decimals)`, {
        field: 'amount',
      });
    }
    plain = s.replace(/,/g, '');
  } else {
    plain = s;
  }
  if (!PLAIN_DECIMAL.test(plain)) {
    throw new MoneyError(`Amount "${raw}" is not a number; write it like 1,234.50`, { field: 'amount' });
  }
  let minor: bigint;
  try {
    minor = toMinor(plain, currency, 'Amount');
  } catch (err) {
    if (err instanceof MoneyError) throw new MoneyError(err.message.replace(`"${plain}"`, `"${raw}"`), { field: 'amount' });
    throw err;
  }
  if (negative) minor = -minor;
  if (minor === 0n && !opts.allowZero) throw new MoneyError('Amount must be more than zero', { field: 'amount' });
  if (minor < 0n && !opts.allowNegative) throw new MoneyError(`Amount "${raw}" must be positive`, { field: 'amount' });
  return { amount: minor, currency };
}

/** Minor units back to a plain major-unit decimal string: 123450n USD → "1234.50"; JPY → "500". */
export function minorToDecimal(amount: bigint, currency: string): string {
  const exp = currencyExponent(currency);
  const neg = amount < 0n;
  const abs = (neg ? -amount : amount).toString().padStart(exp + 1, '0');
  const whole = exp === 0 ? abs : abs.slice(0, -exp);
  const frac = exp === 0 ? '' : `.${abs.slice(-exp)}`;
  return `${neg ? '-' : ''}${whole}${frac}`;
}

function group(whole: string): string {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** For people: "$1,234.50", "-€12.00", "¥500", "BHD 1.250". */
export function formatMoney(m: Money, opts: { code?: boolean } = {}): string {
  const plain = minorToDecimal(m.amount, m.currency);
  const neg = plain.startsWith('-');
  const [whole = '0', frac] = (neg ? plain.slice(1) : plain).split('.');
  const body = frac === undefined ? group(whole) : `${group(whole)}.${frac}`;
  const sym = opts.code ? undefined : currencySymbol(m.currency);
  return sym ? `${neg ? '-' : ''}${sym}${body}` : `${neg ? '-' : ''}${m.currency} ${body}`;
}

/**
 * Convert between currencies with a decimal rate (units of `to` per unit of `from`), accounting for
 * the two currencies' different minor units. Rounding is explicit.
 */
export function convertMinor(
  amount: bigint,
  from: string,
  to: string,
  rate: string,
  rounding: Rounding = 'half_even',
): bigint {
  if (!/^\d+(\.\d+)?$/.test(rate)) throw new MoneyError(`Exchange rate "${rate}" is not a positive decimal`);
  const scale = currencyExponent(to) - currencyExponent(from);
  const d = new D(amount.toString()).times(rate).times(new D(10).pow(scale));
  return BigInt(d.toDecimalPlaces(0, ROUNDING[rounding]).toFixed(0));
}

/** Ratio a/b as a decimal string with `dp` places (for percentages and variance). */
export function ratio(a: bigint, b: bigint, dp = 6): string {
  if (b === 0n) throw new MoneyError('Division by zero amount');
  return new D(a.toString()).div(b.toString()).toDecimalPlaces(dp, Decimal.ROUND_HALF_EVEN).toFixed(dp);
}

/**
 * An amount times a fraction, back in minor units with explicit rounding: a yearly price as a month
 * is `scaleMinor(amount, 1n, 12n)`, a weekly one `scaleMinor(amount, 52n, 12n)`.
 */
export function scaleMinor(amount: bigint, numerator: bigint, denominator: bigint, rounding: Rounding = 'half_even'): bigint {
  if (denominator === 0n) throw new MoneyError('Division by zero amount');
  const d = new D(amount.toString()).times(numerator.toString()).div(denominator.toString());
  return BigInt(d.toDecimalPlaces(0, ROUNDING[rounding]).toFixed(0));
}

/**
 * Split an amount in proportion to weights so the parts sum exactly to the amount
 * (largest remainder; ties to the earliest part, so it is deterministic).
 */
export function allocate(amount: bigint, weights: readonly bigint[]): bigint[] {
  if (weights.length === 0) throw new MoneyError('Cannot allocate over no parts');
  const total = weights.reduce((s, w) => s + w, 0n);
  if (total <= 0n || weights.some((w) => w < 0n)) throw new MoneyError('Allocation weights must be non-negative and not all zero');
  const sign = amount < 0n ? -1n : 1n;
  const abs = amount * sign;
  const parts = weights.map((w) => (abs * w) / total);
  const remainders = weights.map((w, i) => ({ i, r: (abs * w) % total }));
  let left = abs - parts.reduce((s, p) => s + p, 0n);
  remainders.sort((x, y) => (x.r === y.r ? x.i - y.i : x.r > y.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    parts[i] = (parts[i] ?? 0n) + 1n;
    left -= 1n;
  }
  return parts.map((p) => p * sign);
}
