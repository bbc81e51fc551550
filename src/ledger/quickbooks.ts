import type { GlFormatHandler } from './format.js';
import { textOrNull } from './entry.js';
import {
  BALANCE_LABEL,
  CellReader,
  DATE_LIKE,
  FOOTER_LABEL,
  type HeaderCells,
  INVALID,
  type RowParser,
  type RowParserContext,
  cell,
  findColumn,
  firstNonEmpty,
  hasColumn,
  isHeaderRepeat,
  nonEmptyCount,
  rowError,
} from './rows.js';
import type { ParsedRow } from './types.js';

/**
 * QuickBooks Online report exports: "Transaction Detail by Account" / "General Ledger" (one signed
 * Amount column, the account in a section row above its lines) and "Journal" (Debit and Credit, the
 * account on every line, a transaction's later lines without a date, a subtotal row after each
 * transaction). Both start with company / report / date-range lines and a blank line, and end with a
 * "TOTAL" row, a blank line and an "Accrual Basis <timestamp>" footer.
 */

const COLUMNS = {
  date: ['date', 'transaction date'],
  type: ['transaction type', 'type'],
  num: ['num', 'no.', 'ref no.', 'number'],
  name: ['name', 'customer', 'payee', 'customer full name'],
  memo: ['memo/description', 'memo', 'description'],
  account: ['account', 'account name', 'account full name'],
  amount: ['amount'],
  debit: ['debit'],
  credit: ['credit'],
  currency: ['currency'],
  posting: ['posting'],
} as const;

const TOTAL_FOR = /^total for\s+/i;
const GRAND_TOTAL = /^total$/i;
const WITH_SUB_ACCOUNTS = /\s+with sub-accounts$/i;
const NO = /^no$/i;

export const quickbooksFormat: GlFormatHandler = {
  format: 'quickbooks',
  mapping: null,
  label: 'QuickBooks Online',
  signature: 'Date, Transaction Type, Num, Name, Memo/Description, Split or Account, Amount (or Debit and Credit)',
  isHeader(h) {
    return (
      hasColumn(h, COLUMNS.date) &&
      hasColumn(h, ['transaction type']) &&
      (hasColumn(h, COLUMNS.amount) || (hasColumn(h, COLUMNS.debit) && hasColumn(h, COLUMNS.credit))) &&
      hasColumn(h, ['num', 'memo/description', 'split'])
    );
  },
  accepts(h) {
    return hasColumn(h, COLUMNS.date) && (hasColumn(h, COLUMNS.amount) || (hasColumn(h, COLUMNS.debit) && hasColumn(h, COLUMNS.credit)));
  },
  createRowParser(h, ctx) {
    return new QuickbooksRows(h, ctx);
  },
};

interface OpenTransaction {
  date: string;
  type: string | null;
  num: string | null;
  name: string | null;
  debits: bigint;
  credits: bigint;
  /** Its dated line was bad (already reported): its later lines are checked but not emitted. */
  broken: boolean;
}

class QuickbooksRows implements RowParser {
  private readonly c: { [K in keyof typeof COLUMNS]: number };
  private readonly debitCredit: boolean;
  private readonly reader: CellReader;
  /** Open account sections, outermost first (sub-accounts nest inside their parent). */
  private sections: string[] = [];
  /** Journal layout: the transaction whose later lines carry no date. */
  private txn: OpenTransaction | null = null;
  private readonly creditNormal = new Map<string, boolean>();

  constructor(
    private readonly header: HeaderCells,
    private readonly ctx: RowParserContext,
  ) {
    this.c = {
      date: findColumn(header, COLUMNS.date),
      type: findColumn(header, COLUMNS.type),
      num: findColumn(header, COLUMNS.num),
      name: findColumn(header, COLUMNS.name),
      memo: findColumn(header, COLUMNS.memo),
      account: findColumn(header, COLUMNS.account),
      amount: findColumn(header, COLUMNS.amount),
      debit: findColumn(header, COLUMNS.debit),
      credit: findColumn(header, COLUMNS.credit),
      currency: findColumn(header, COLUMNS.currency),
      posting: findColumn(header, COLUMNS.posting),
    };
    this.debitCredit = this.c.amount < 0;
    this.reader = new CellReader(header.raw, ctx.config, ctx.config.decimalSeparator);
  }

  row(fields: readonly string[], line: number, out: ParsedRow[]): void {
    const dateAt = this.c.date;
    const dateRaw = cell(fields, dateAt);
    if (dateRaw !== '') {
      const date = this.ctx.config.dates.quickbooks.parse(dateRaw);
      if (date !== null) {
        this.entry(fields, line, date, out);
        return;
      }
    }
    const lead = firstNonEmpty(fields);
    if (lead < 0) return;
    const label = cell(fields, lead);
    const leading = lead <= dateAt;
    if (leading || dateRaw === '') {
      if (TOTAL_FOR.test(label)) {
        this.closeSection(label.replace(TOTAL_FOR, '').replace(WITH_SUB_ACCOUNTS, ''));
        return;
      }
      if (GRAND_TOTAL.test(label)) {
        this.sections = [];
        this.txn = null;
        return;
      }
      if (BALANCE_LABEL.test(label) || FOOTER_LABEL.test(label)) return;
    }
    if (isHeaderRepeat(fields, this.header)) return;
    if (leading && nonEmptyCount(fields, 2) === 1 && !DATE_LIKE.test(label)) {
      this.sections.push(label);
      this.txn = null;
      return;
    }
    if (dateRaw !== '') {
      // Something that is not a date where the date goes: report it with any other bad cell.
      this.entry(fields, line, null, out);
      return;
    }
    if (this.debitCredit && this.txn) {
      this.continuation(fields, line, this.txn, out);
      return;
    }
    this.undated(fields, line, out);
  }

  end(): void {}

  private get amountColumns(): number[] {
    return this.debitCredit ? [this.c.debit, this.c.credit] : [this.c.amount];
  }

  private closeSection(name: string): void {
    this.txn = null;
    const wanted = name.trim().toLowerCase();
    for (let i = this.sections.length - 1; i >= 0; i--) {
      if ((this.sections[i] ?? '').toLowerCase() === wanted) {
        this.sections.length = i;
        return;
      }
    }
    this.sections.pop();
  }

  private currency(fields: readonly string[], line: number, out: ParsedRow[]): string | typeof INVALID {
    return this.c.currency < 0 ? this.ctx.defaultCurrency : this.reader.currency(fields, this.c.currency, this.ctx.defaultCurrency, line, out);
  }

  /** A dated row; `date` null when the Date cell holds something else (reported here). */
  private entry(fields: readonly string[], line: number, date: string | null, out: ParsedRow[]): void {
    if (this.c.posting >= 0 && NO.test(cell(fields, this.c.posting))) return; // estimates, purchase orders: never in the GL
    const { c, reader } = this;
    let bad = false;
    if (date === null) {
      reader.date(fields, c.date, this.ctx.config.dates.quickbooks, line, out);
      bad = true;
    }
    const currency = this.currency(fields, line, out);
    if (currency === INVALID) bad = true;
    const cur = currency === INVALID ? this.ctx.defaultCurrency : currency;
    let amount: bigint | null;
    let debit: bigint | null = null;
    let credit: bigint | null = null;
    if (this.debitCredit) {
      const d = reader.amount(fields, c.debit, cur, line, out);
      const k = reader.amount(fields, c.credit, cur, line, out);
      if (d === INVALID || k === INVALID) {
        this.txn = { date: '', type: null, num: null, name: null, debits: 0n, credits: 0n, broken: true };
        return;
      }
      debit = d;
      credit = k;
      amount = d === null && k === null ? null : (d ?? 0n) - (k ?? 0n);
    } else {
      const a = reader.amount(fields, c.amount, cur, line, out);
      if (a === INVALID) return;
      amount = a;
    }
    if (bad || date === null || currency === INVALID) {
      if (this.debitCredit) this.txn = { date: '', type: null, num: null, name: null, debits: 0n, credits: 0n, broken: true };
      return;
    }
    const type = textOrNull(cell(fields, c.type));
    const num = textOrNull(cell(fields, c.num));
    const name = textOrNull(cell(fields, c.name));
    if (this.debitCredit) this.txn = { date, type, num, name, debits: debit ?? 0n, credits: credit ?? 0n, broken: false };
    if (amount === null) return; // a dated line without an amount posts nothing
    const account = cell(fields, c.account) || (this.sections[this.sections.length - 1] ?? '');
    if (account === '') {
      out.push(
        rowError(
          line,
          c.account >= 0 ? reader.columnName(c.account) : null,
          'no account: the row is not under an account section row and has no Account value',
        ),
      );
      return;
    }
    if (!this.debitCredit && this.isCreditNormal(account)) amount = -amount;
    out.push(
      this.ctx.entries.build(
        {
          date,
          account,
          amountMinor: amount,
          currency,
          reference: num,
          memo: textOrNull(fields[c.memo]),
          customerName: name,
          externalId: null,
          transactionType: type,
          accountingPeriod: null,
        },
        line,
      ),
    );
  }

  /** Journal layout: a later line of the open transaction, or the subtotal row that closes it. */
  private continuation(fields: readonly string[], line: number, txn: OpenTransaction, out: ParsedRow[]): void {
    const { c, reader } = this;
    const currency = this.currency(fields, line, out);
    if (currency === INVALID) return;
    const debit = reader.amount(fields, c.debit, currency, line, out);
    const credit = reader.amount(fields, c.credit, currency, line, out);
    if (debit === INVALID || credit === INVALID) return;
    if (debit === null && credit === null) return;
    const account = cell(fields, c.account);
    if (txn.broken) {
      if (account === '') this.txn = null;
      return;
    }
    if (account === '') {
      if ((debit ?? 0n) === txn.debits && (credit ?? 0n) === txn.credits) {
        this.txn = null;
        return;
      }
      out.push(
        rowError(
          line,
          null,
          `a row with amounts (debit "${cell(fields, c.debit)}", credit "${cell(fields, c.credit)}") but no date and no account, ` +
            'and it is not the total of the transaction above (expected a dated row, a line with an account, or the transaction total)',
        ),
      );
      return;
    }
    txn.debits += debit ?? 0n;
    txn.credits += credit ?? 0n;
    out.push(
      this.ctx.entries.build(
        {
          date: txn.date,
          account,
          amountMinor: (debit ?? 0n) - (credit ?? 0n),
          currency,
          reference: txn.num,
          memo: textOrNull(fields[c.memo]),
          customerName: textOrNull(fields[c.name]) ?? txn.name,
          externalId: null,
          transactionType: txn.type,
          accountingPeriod: null,
        },
        line,
      ),
    );
  }

  /** No date, not a label, section or journal line: fine when it carries no amount. */
  private undated(fields: readonly string[], line: number, out: ParsedRow[]): void {
    for (const i of this.amountColumns) {
      const raw = cell(fields, i);
      if (raw === '') continue;
      out.push(
        rowError(
          line,
          this.reader.columnName(this.c.date),
          `empty, but the row has an amount ("${raw}" in "${this.reader.columnName(i)}") ` +
            `and is not a section, total or balance row (expected a date like ${this.ctx.config.dates.quickbooks.expected})`,
        ),
      );
      return;
    }
  }

  private isCreditNormal(account: string): boolean {
    const patterns = this.ctx.config.quickbooksCreditNormal;
    if (patterns.length === 0) return false;
    let hit = this.creditNormal.get(account);
    if (hit === undefined) {
      hit = patterns.some((p) => p.test(account));
      this.creditNormal.set(account, hit);
    }
    return hit;
  }
}
