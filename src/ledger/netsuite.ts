import type { GlFormatHandler } from './format.js';
import { textOrNull } from './entry.js';
import {
  BALANCE_LABEL,
  CellReader,
  DATE_LIKE,
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
import type { GlEntryFields, GlParseError, ParsedRow } from './types.js';

/**
 * NetSuite transaction saved-search exports (Internal ID, Date, Period, Type, Document Number, Name,
 * Account, Memo, Amount (Debit), Amount (Credit), Currency, Main Line) and the General Ledger report
 * (title lines, account heading rows, "Balance Forward" and "Total - <account>" rows).
 *
 * With "Main Line: Both" a transaction comes out as its body row (marked `*`) plus one row per line.
 * Depending on the transaction type the body row is either a posting of its own (the A/R debit of an
 * invoice, which balances its revenue lines) or a restatement of the lines (their total, or a copy of
 * one of them). Rows of one transaction are held until the next transaction starts, and the body row
 * is kept only when it is a posting of its own — see `flush`.
 */

const COLUMNS = {
  internalId: ['internal id', 'internalid', 'transaction internal id'],
  date: ['date', 'transaction date'],
  period: ['period', 'posting period', 'accounting period'],
  type: ['type', 'transaction type'],
  docNumber: ['document number', 'document number/id', 'transaction number', 'tran id', 'number', 'ref no.'],
  name: ['name', 'entity', 'customer'],
  account: ['account', 'account name'],
  memo: ['memo', 'description', 'memo (main)'],
  debit: ['amount (debit)', 'debit amount', 'debit'],
  credit: ['amount (credit)', 'credit amount', 'credit'],
  amount: ['amount', 'amount (net)'],
  currency: ['currency'],
  mainLine: ['main line', '*'],
} as const;

const TOTAL = /^total\b/i;
const MAIN_LINE = /^(?:\*|yes|y|t|true)$/i;

function hasAmounts(h: HeaderCells): boolean {
  return (hasColumn(h, COLUMNS.debit) && hasColumn(h, COLUMNS.credit)) || hasColumn(h, COLUMNS.amount);
}

export const netsuiteFormat: GlFormatHandler = {
  format: 'netsuite',
  mapping: null,
  label: 'NetSuite',
  signature: 'Internal ID, Date, Period, Type, Document Number, Name, Account, Memo, Amount (Debit), Amount (Credit), Main Line',
  isHeader(h) {
    return (
      hasColumn(h, COLUMNS.date) &&
      hasColumn(h, COLUMNS.account) &&
      hasAmounts(h) &&
      hasColumn(h, [...COLUMNS.internalId, 'document number', 'period', 'posting period', ...COLUMNS.mainLine, 'amount (debit)'])
    );
  },
  accepts(h) {
    return hasColumn(h, COLUMNS.date) && hasColumn(h, COLUMNS.account) && hasAmounts(h);
  },
  createRowParser(h, ctx) {
    return new NetsuiteRows(h, ctx);
  },
};

interface Pending {
  fields: GlEntryFields;
  line: number;
  main: boolean;
}

class NetsuiteRows implements RowParser {
  private readonly c: { [K in keyof typeof COLUMNS]: number };
  private readonly debitCredit: boolean;
  private readonly reader: CellReader;
  private heading = '';
  /** Rows of the current transaction, held while a Main Line column exists. */
  private pending: Array<Pending | GlParseError> = [];
  private groupKey: string | null = null;
  private readonly scratch: ParsedRow[] = [];

  constructor(
    private readonly header: HeaderCells,
    private readonly ctx: RowParserContext,
  ) {
    this.c = {
      internalId: findColumn(header, COLUMNS.internalId),
      date: findColumn(header, COLUMNS.date),
      period: findColumn(header, COLUMNS.period),
      type: findColumn(header, COLUMNS.type),
      docNumber: findColumn(header, COLUMNS.docNumber),
      name: findColumn(header, COLUMNS.name),
      account: findColumn(header, COLUMNS.account),
      memo: findColumn(header, COLUMNS.memo),
      debit: findColumn(header, COLUMNS.debit),
      credit: findColumn(header, COLUMNS.credit),
      amount: findColumn(header, COLUMNS.amount),
      currency: findColumn(header, COLUMNS.currency),
      mainLine: findColumn(header, COLUMNS.mainLine),
    };
    this.debitCredit = this.c.debit >= 0 && this.c.credit >= 0;
    this.reader = new CellReader(header.raw, ctx.config, ctx.config.decimalSeparator);
  }

  private get grouping(): boolean {
    return this.c.mainLine >= 0;
  }

  row(fields: readonly string[], line: number, out: ParsedRow[]): void {
    const dateAt = this.c.date;
    const dateRaw = cell(fields, dateAt);
    if (dateRaw !== '') {
      const date = this.ctx.config.dates.netsuite.parse(dateRaw);
      if (date !== null) {
        this.dated(fields, line, date, out);
        return;
      }
    }
    const lead = firstNonEmpty(fields);
    if (lead < 0) return;
    const label = cell(fields, lead);
    const leading = lead <= dateAt;
    if ((leading || dateRaw === '') && (BALANCE_LABEL.test(label) || TOTAL.test(label))) return;
    if (isHeaderRepeat(fields, this.header)) return;
    if (leading && nonEmptyCount(fields, 2) === 1 && !DATE_LIKE.test(label)) {
      this.flush(out);
      this.heading = label;
      return;
    }
    if (dateRaw !== '') {
      this.dated(fields, line, null, out);
      return;
    }
    for (const i of this.debitCredit ? [this.c.debit, this.c.credit] : [this.c.amount]) {
      const raw = cell(fields, i);
      if (raw === '') continue;
      this.flush(out);
      out.push(
        rowError(
          line,
          this.reader.columnName(dateAt),
          `empty, but the row has an amount ("${raw}" in "${this.reader.columnName(i)}") ` +
            `and is not an account heading, total or balance row (expected a date like ${this.ctx.config.dates.netsuite.expected})`,
        ),
      );
      return;
    }
  }

  end(out: ParsedRow[]): void {
    this.flush(out);
  }

  private dated(fields: readonly string[], line: number, date: string | null, out: ParsedRow[]): void {
    const { c, reader } = this;
    const problems = this.scratch;
    problems.length = 0;
    if (date === null) reader.date(fields, c.date, this.ctx.config.dates.netsuite, line, problems);
    const currency = c.currency < 0 ? this.ctx.defaultCurrency : reader.currency(fields, c.currency, this.ctx.defaultCurrency, line, problems);
    const cur = currency === INVALID ? this.ctx.defaultCurrency : currency;
    const amount = this.debitCredit
      ? reader.debitCredit(fields, c.debit, c.credit, cur, line, problems)
      : reader.amount(fields, c.amount, cur, line, problems);
    const main = this.grouping && MAIN_LINE.test(cell(fields, c.mainLine));

    if (this.grouping) {
      const key = cell(fields, c.internalId) || `${cell(fields, c.type)}\x1f${cell(fields, c.docNumber)}\x1f${cell(fields, c.date)}`;
      if (key !== this.groupKey) {
        this.flush(out);
        this.groupKey = key;
      }
    }
    const report = (e: ParsedRow) => (this.grouping && e.kind === 'error' ? this.pending.push(e) : out.push(e));
    for (const p of problems) report(p);
    if (date === null || currency === INVALID || amount === INVALID) return;
    // A body row without amounts, or a line that posts nothing.
    if (amount === null) return;
    const account = cell(fields, c.account) || this.heading;
    if (account === '') {
      report(rowError(line, c.account >= 0 ? reader.columnName(c.account) : null, 'empty (expected the GL account of the line)'));
      return;
    }
    const entry: GlEntryFields = {
      date,
      account,
      amountMinor: amount,
      currency,
      reference: textOrNull(fields[c.docNumber]),
      memo: textOrNull(fields[c.memo]),
      customerName: textOrNull(fields[c.name]),
      externalId: textOrNull(fields[c.internalId]),
      transactionType: textOrNull(fields[c.type]),
      accountingPeriod: textOrNull(fields[c.period]),
    };
    if (this.grouping) this.pending.push({ fields: entry, line, main });
    else out.push(this.ctx.entries.build(entry, line));
  }

  /**
   * Emit the held transaction. A body row (main line) is dropped when it restates the lines:
   *  - it equals the sum of the lines (a summary), or
   *  - the lines balance without it and one of them has its account and amount (a copy of that line).
   * It is kept when the transaction balances with it (an invoice's A/R debit against its revenue
   * credits; a journal's first line), when there are no lines, and in every other case — a posting
   * dropped wrongly would hide a real GL entry.
   */
  private flush(out: ParsedRow[]): void {
    const items = this.pending;
    if (items.length === 0) return;
    let lineSum = 0n;
    let lines = 0;
    let mains = 0;
    for (const it of items) {
      if ('kind' in it) continue;
      if (it.main) mains++;
      else {
        lines++;
        lineSum += it.fields.amountMinor;
      }
    }
    for (const it of items) {
      if ('kind' in it) {
        out.push(it);
        continue;
      }
      if (it.main && mains > 0 && lines > 0 && this.restatesLines(it, items, lineSum)) continue;
      out.push(this.ctx.entries.build(it.fields, it.line));
    }
    this.pending = [];
    this.groupKey = null;
  }

  private restatesLines(main: Pending, items: ReadonlyArray<Pending | GlParseError>, lineSum: bigint): boolean {
    const amount = main.fields.amountMinor;
    if (amount + lineSum === 0n) return false;
    if (amount === lineSum) return true;
    if (lineSum !== 0n) return false;
    return items.some((it) => !('kind' in it) && !it.main && it.fields.account === main.fields.account && it.fields.amountMinor === amount);
  }
}
